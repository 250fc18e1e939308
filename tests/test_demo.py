"""The digits demo trains to the promised accuracy and writes its outputs."""

import subprocess
import sys

import pytest

import backprop as bp

pytest.importorskip("sklearn")


def test_demo_reaches_accuracy_and_saves_outputs(tmp_path):
    pytest.importorskip("matplotlib")
    from backprop.__main__ import main

    accuracy = main(["--epochs", "30", "--out", str(tmp_path), "--no-progress"])
    assert accuracy >= 0.96
    weights = bp.load(tmp_path / "digits_mlp.safetensors")
    assert set(weights) == {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}
    assert (tmp_path / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_help_explains_flags():
    out = subprocess.run([sys.executable, "-m", "backprop", "--help"], capture_output=True, text=True, check=True)
    for flag in ("--epochs", "--hidden", "--optimizer", "--lr", "--seed", "--out"):
        assert flag in out.stdout


def test_demo_without_matplotlib_saves_weights_and_exits_0(tmp_path):
    # None in sys.modules makes `import matplotlib` raise ModuleNotFoundError, as when the demo
    # extra was not installed, whether or not matplotlib is present here.
    script = ("import sys, runpy; sys.modules['matplotlib'] = None; "
              "sys.argv = ['backprop', '--epochs', '1', '--no-progress', '--out', sys.argv[1]]; "
              "runpy.run_module('backprop', run_name='__main__')")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert "pip install 'backprop[demo]'" in out.stdout
    assert "final test accuracy" in out.stdout
    assert set(bp.load(tmp_path / "digits_mlp.safetensors")) == {"0.weight", "0.bias", "2.weight", "2.bias",
                                                                "4.weight", "4.bias"}
    assert not (tmp_path / "loss_curve.png").exists()
