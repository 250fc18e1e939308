"""Type information ships with the package and matches the compiled module."""

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import backprop as bp

PACKAGE = Path(bp.__file__).parent
STUBGEN = Path(__file__).resolve().parents[1] / ".ci" / "stubgen.py"


def test_package_ships_py_typed_and_the_core_stub():
    assert (PACKAGE / "py.typed").is_file()
    assert "class Tensor:" in (PACKAGE / "_core.pyi").read_text()


def test_all_names_every_public_name():
    # mypy --strict accepts only explicitly exported names: a name missing from __all__ is an
    # error in every typed script that uses it.
    public = {name for name, value in vars(bp).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert sorted(public - set(bp.__all__)) == [], "add these to __all__ in backprop/__init__.py"
    assert sorted(set(bp.__all__) - public) == []


def test_checked_in_stub_matches_the_compiled_module(tmp_path):
    pytest.importorskip("pybind11_stubgen")
    if not STUBGEN.is_file():
        pytest.skip(".ci/stubgen.py is not in this checkout")
    paths = [str(PACKAGE.parent), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    subprocess.run([sys.executable, str(STUBGEN), "--out", str(tmp_path)], check=True, env=env)
    fresh = (tmp_path / "_core.pyi").read_text()
    assert fresh == (PACKAGE / "_core.pyi").read_text(), (
        "python/backprop/_core.pyi is stale: regenerate it with `PYTHONPATH=python python .ci/stubgen.py`")
