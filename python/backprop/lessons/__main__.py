"""`python -m backprop.lessons NAME [--quick] [--out DIR]`."""

import argparse
import sys

from . import LESSONS, run


def main(argv=None):
    lines = "\n".join(f"  {name:<11} {title}" for name, (_, title) in LESSONS.items())
    parser = argparse.ArgumentParser(
        prog="python -m backprop.lessons",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The lessons of backpropagation, measured on this machine. Each prints a table and "
                    "writes NAME.json and NAME.png.",
        epilog=f"lessons:\n{lines}\n  all         every lesson, in this order",
    )
    parser.add_argument("name", choices=[*LESSONS, "all"], metavar="NAME", help="a lesson (see below) or all")
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a few seconds per lesson")
    parser.add_argument("--out", default="backprop-lessons", metavar="DIR",
                        help="folder for the JSON and PNG files (default ./backprop-lessons)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    names = list(LESSONS) if args.name == "all" else [args.name]
    results = {}
    for i, name in enumerate(names):
        if i:
            print()
        results[name] = run(name, quick=args.quick, out=args.out)
    return results


if __name__ == "__main__":
    main()
