"""Writes python/backprop/_core.pyi, the type stub of the compiled module, from the module itself.

    PYTHONPATH=python python .ci/stubgen.py          # after building; then commit the stub
    python .ci/stubgen.py --out DIR                  # write DIR/_core.pyi instead (the stale-stub test)

Runs pybind11-stubgen (pinned: its output format changes between versions) on the backprop._core
that Python imports, then fixes what it gets wrong about this module; each fix says why below.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

STUBGEN_VERSION = "3.0.0"

# Tensor methods that python/backprop/_tensor.py adds at import: pybind11-stubgen sees them but
# has no annotations to print. Every unannotated signature must be here (fix() checks).
PYTHON_METHODS = {
    "def __array__(self, dtype = None, copy = None):":
        "def __array__(self, dtype: typing.Any = None, copy: bool | None = None) -> numpy.ndarray:",
    "def __deepcopy__(self, memo):": "def __deepcopy__(self, memo: dict[int, typing.Any]) -> Tensor:",
    "def __format__(self, spec):": "def __format__(self, spec: str) -> str:",
    "def __iter__(self):": "def __iter__(self) -> collections.abc.Iterator[Tensor]:",
    "def __repr__(self):": "def __repr__(self) -> str:",
    "def __str__(self):": "def __str__(self) -> str:",
    "def tolist(self):": "def tolist(self) -> typing.Any:",
}

# max, min (with a dim) and the like return namedtuples that the bindings create with
# collections.namedtuple, whose module pybind11-stubgen then reads as importlib's: each becomes a
# typing.NamedTuple of tensors with the same fields.
def _named_tuples(text):
    import backprop._core as core

    classes = []
    for name, alias in re.findall(r"from importlib\._bootstrap import (\w+) as (_\w+)\n", text):
        fields = "".join(f"    {field}: Tensor\n" for field in getattr(core, alias)._fields)
        classes.append(f"class {alias}(typing.NamedTuple):\n{fields}")
    text = re.sub(r"from importlib\._bootstrap import \w+ as _\w+\n", "", text)
    return text.replace("\nclass dtype:", "\n" + "".join(classes) + "class dtype:", 1)


def _any_signature(match):
    params = []
    for param in filter(None, (p.strip() for p in match.group(2).split(","))):
        name, eq, default = param.partition("=")
        name = name.strip()
        if ":" in name or name in ("self", "cls", "*", "/"):
            params.append(param)
        else:
            params.append(f"{name}: typing.Any" + (f" = {default.strip()}" if eq else ""))
    return f"{match.group(1)}{', '.join(params)}) -> typing.Any:"


def fix(text):
    # Factories registered before the Tensor class print the C++ type name in their signature.
    text = text.replace("backprop::Tensor", "Tensor")
    # pybind11-stubgen maps every type named `dtype` to NumPy's; backprop's own is meant.
    text = text.replace("numpy.dtype[typing.Any]", "dtype")
    text = _named_tuples(text)
    # Tensor has methods named bool, float, int...: inside the class those names would mean the
    # methods, so annotations name the builtins explicitly.
    text = re.sub(r"(?:(?<=: )|(?<=> )|(?<=\| )|(?<=\[))(bool|float|int|str)\b(?!\.)", r"builtins.\1", text)
    text = text.replace("import collections.abc\n", "import builtins\nimport collections.abc\n", 1)
    # Bare containers and untyped *args/**kwargs (py::tuple, py::args...) fail mypy --strict.
    text = re.sub(r"(?<=[:>] )(tuple|list|dict|typing\.Sequence|collections\.abc\.Callable)(?=[,):\s=]|$)",
                  lambda m: m.group(1) + ("[typing.Any, ...]" if m.group(1) == "tuple" else
                                          "[typing.Any, typing.Any]" if m.group(1) == "dict" else
                                          "[..., typing.Any]" if "Callable" in m.group(1) else "[typing.Any]"),
                  text)
    text = re.sub(r"\*(\*?)(args|kwargs)(?=[,)])", r"*\1\2: typing.Any", text)
    # The exception is created in C++ and re-exported by the package, which imports this module.
    text = text.replace("from backprop import SerializationError\n", "")
    text = text.replace("\nclass dtype:", "\nclass SerializationError(RuntimeError):\n    ...\nclass dtype:", 1)
    for untyped, typed in PYTHON_METHODS.items():
        text = text.replace("    " + untyped + "\n", "    " + typed + "\n")
    # Any other Python-level function: Any for what it does not annotate, so that the stub stays
    # valid under mypy --strict (a precise signature belongs in PYTHON_METHODS).
    text = re.sub(r"^(\s*def \w+\()(.*)\):$", _any_signature, text, flags=re.M)
    if "importlib" in text or "class dtype:" not in text:
        sys.exit("stubgen.py: the stub no longer has the shape these fixes expect; update .ci/stubgen.py")
    return text


def generate():
    import pybind11_stubgen

    version = getattr(pybind11_stubgen, "__version__", None)
    if version is not None and version != STUBGEN_VERSION:
        sys.exit(f"stubgen.py: pybind11-stubgen {STUBGEN_VERSION} is needed (found {version}): "
                 f"pip install pybind11-stubgen=={STUBGEN_VERSION}")
    with tempfile.TemporaryDirectory() as tmp:
        # --print-invalid-expressions-as-is keeps backprop::Tensor for fix() to rename.
        subprocess.run([sys.executable, "-m", "pybind11_stubgen", "backprop._core", "-o", tmp,
                        "--print-invalid-expressions-as-is"], check=True, capture_output=True, text=True)
        return fix((Path(tmp) / "backprop" / "_core.pyi").read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "python" / "backprop",
                        help="folder to write _core.pyi into (default: python/backprop of this checkout)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "_core.pyi").write_text(generate())


if __name__ == "__main__":
    main()
