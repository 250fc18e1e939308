"""Small training scripts written as PyTorch's tutorials write them, run unmodified with `torch`
bound to backprop (tests/pytorch_scripts/_run_as.py), and, where PyTorch is installed, under
PyTorch too: each must train, and its final loss fall below the bound stated here (one bound
for both libraries, loose enough for their different random initialisations)."""

import os
import re
import subprocess
import sys

import pytest

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pytorch_scripts")

FINAL_LOSS_BELOW = {
    "polyfit_tensors.py": 30.0,        # a cubic fit of sin on [-pi, pi]: about 9 when converged
    "polyfit_nn.py": 30.0,
    "custom_function.py": 30.0,
    "two_layer_device.py": 1e-2,
    "bce_classifier.py": 0.1,
    "autoencoder.py": 0.05,
    "dataloader_regression.py": 1e-3,
    "multiclass_module.py": 0.1,
    "logistic_regression.py": 0.3,
    "regression_activations.py": 0.05,
    "tensor_basics.py": 0.05,
}


def _have_torch():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _final_loss(library, script):
    path = os.path.join(HERE, script)
    env = dict(os.environ, PYTHONHASHSEED="0")
    # The scripts run in their own folder: a relative PYTHONPATH (a dev build) must stay valid.
    paths = [os.path.abspath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    out = subprocess.run([sys.executable, os.path.join(HERE, "_run_as.py"), library, path], capture_output=True,
                         text=True, timeout=600, env=env, cwd=HERE)
    assert out.returncode == 0, f"{script} under {library} failed:\n{out.stdout[-1500:]}\n{out.stderr[-3000:]}"
    found = re.findall(r"^final loss: (\S+)$", out.stdout, flags=re.M)
    assert found, f"{script} under {library} printed no final loss:\n{out.stdout[-1500:]}"
    return float(found[-1])


def test_every_script_has_a_bound():
    scripts = sorted(f for f in os.listdir(HERE) if f.endswith(".py") and not f.startswith("_"))
    assert scripts == sorted(FINAL_LOSS_BELOW)
    assert len(scripts) >= 10


@pytest.mark.parametrize("script", sorted(FINAL_LOSS_BELOW))
def test_script_trains_under_backprop(script):
    loss = _final_loss("backprop", script)
    assert loss < FINAL_LOSS_BELOW[script], f"{script}: final loss {loss}"


@pytest.mark.skipif(not _have_torch(), reason="torch not installed")
@pytest.mark.parametrize("script", sorted(FINAL_LOSS_BELOW))
def test_script_trains_under_torch_to_the_same_bound(script):
    loss = _final_loss("torch", script)
    assert loss < FINAL_LOSS_BELOW[script], f"{script}: final loss {loss}"
