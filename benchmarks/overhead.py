"""Per-op overhead: the scalar chain `y = (y * 1.001 + 0.1).relu()` forward and backward, side by
side with torch and micrograd, in microseconds per op (median of several blocks) and ratios.

    python benchmarks/overhead.py                 # all three libraries
    python benchmarks/overhead.py --profile N     # only backprop, N chains: for callgrind

For callgrind, run `--profile 0` and `--profile 300` and divide the difference of the two
instruction counts by 300 * ops: the imports and the warm-up cancel out.
"""
import argparse
import os
import statistics
import time


def chain_fn(lib, ops):
    if lib == "micrograd":
        from micrograd.engine import Value

        def run():
            y = Value(0.5)
            for _ in range(ops // 3):
                y = (y * 1.001 + 0.1).relu()
            y.backward()
        return run
    if lib == "torch":
        import torch
        torch.set_num_threads(1)
        mod = torch
    else:
        import backprop
        backprop.set_num_threads(1)
        mod = backprop
    x = mod.tensor([0.5], requires_grad=True)

    def run():
        y = x
        for _ in range(ops // 3):
            y = (y * 1.001 + 0.1).relu()
        y.backward()
    return run


def per_op_us(run, ops, blocks, reps):
    run()
    times = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(reps):
            run()
        times.append((time.perf_counter() - t0) / reps / ops * 1e6)
    return statistics.median(times), min(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", type=int, default=300)
    p.add_argument("--blocks", type=int, default=9)
    p.add_argument("--reps", type=int, default=40)
    p.add_argument("--profile", type=int, default=None, metavar="N")
    args = p.parse_args()
    if args.profile is not None:
        run = chain_fn("backprop", args.ops)
        run()
        for _ in range(args.profile):
            run()
        return
    print(f"load average {os.getloadavg()[0]:.2f}, {args.ops}-op chain, medians of {args.blocks} blocks")
    results = {}
    for lib in ("backprop", "torch", "micrograd"):
        try:
            run = chain_fn(lib, args.ops)
        except ImportError:
            print(f"{lib:10s} not installed")
            continue
        med, best = per_op_us(run, args.ops, args.blocks, args.reps)
        results[lib] = med
        print(f"{lib:10s} {med:6.3f} us/op (best {best:.3f})")
    for peer in ("torch", "micrograd"):
        if "backprop" in results and peer in results:
            print(f"backprop / {peer}: {results['backprop'] / results[peer]:.2f}x the time")


if __name__ == "__main__":
    main()
