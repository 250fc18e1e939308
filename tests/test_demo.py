"""The digits demo trains to the promised accuracy and writes its outputs."""

import subprocess
import sys

import pytest

import backprop as bp

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def test_demo_reaches_accuracy_and_saves_outputs(tmp_path):
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
