"""One nn, two front ends: the C++ nn (nn.hpp) and Python's backprop.nn agree.

The C++ half is tests/cpp_parity/nn_parity.cpp, built here with CMake against an installed
backprop C++ package: the pip-installed wheel's (backprop.cmake_prefix_path()), or the prefix in
BACKPROP_CMAKE_PREFIX_PATH (`cmake --install build --prefix P` of a development build). A source
checkout run without either has no C++ package to build against, and the test says so as a skip.
"""

import json
import os
import shutil
import subprocess
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import backprop as bp
from backprop import nn

HERE = Path(__file__).resolve().parent
CASES = ("missing", "unexpected", "mismatch", "everything")


def make_net():
    # The same network as make_net() in nn_parity.cpp.
    return nn.Sequential(
        nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 6), nn.Sigmoid(),
        nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 5, bias=False), nn.Tanh(), nn.Linear(5, 3),
    ).double()


def bad_states(good):
    """State dicts that must fail a strict load, each for its own reason (and one for all of them)."""
    missing = OrderedDict((k, v) for k, v in good.items() if k not in ("0.bias", "10.bias"))
    unexpected = OrderedDict(good, **{"11.weight": bp.zeros(3), "0.extra": bp.zeros(1), "zzz": bp.zeros(2)})
    mismatch = OrderedDict(good, **{"4.weight": bp.zeros(6, 5), "10.bias": bp.zeros(3, 1)})
    everything = OrderedDict((k, v) for k, v in mismatch.items() if k != "2.bias")
    everything.update({"8.bias": bp.zeros(5), "6.weight.extra": bp.zeros(1)})
    return {"missing": missing, "unexpected": unexpected, "mismatch": mismatch, "everything": everything}


def python_load(state, strict):
    """What Python's Module.load_state_dict does with `state`, in the shape nn_parity prints."""
    try:
        missing, unexpected = make_net().load_state_dict(state, strict=strict)
    except Exception as e:  # noqa: BLE001  (the type is what is compared)
        return {"type": type(e).__name__, "message": str(e)}
    return {"missing_keys": list(missing), "unexpected_keys": list(unexpected)}


def _cmake_prefix():
    prefix = os.environ.get("BACKPROP_CMAKE_PREFIX_PATH")
    if prefix:
        return prefix
    try:
        return bp.cmake_prefix_path()
    except RuntimeError as e:
        pytest.skip(f"no backprop C++ package to build the C++ half against: {e}")


@pytest.fixture(scope="module")
def nn_parity(tmp_path_factory):
    """The built nn_parity program."""
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not on PATH: the C++ half of the parity test cannot be built")
    prefix = _cmake_prefix()
    build = tmp_path_factory.mktemp("nn_parity_build")
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    for cmd in (
        [cmake, "-S", str(HERE / "cpp_parity"), "-B", str(build), *generator, f"-DCMAKE_PREFIX_PATH={prefix}"],
        [cmake, "--build", str(build)],
    ):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return build / "nn_parity"


@pytest.fixture(scope="module")
def run(nn_parity, tmp_path_factory):
    """Python writes the weights, an input and the bad state dicts; the C++ program reports on them."""
    data = tmp_path_factory.mktemp("nn_parity_data")
    bp.manual_seed(7)
    net = make_net()
    bp.save(net.state_dict(), data / "weights.safetensors")
    rng = np.random.default_rng(7)
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    bp.save({"x": bp.tensor(x), "g": bp.tensor(g)}, data / "input.safetensors")
    for name, state in bad_states(net.state_dict()).items():
        bp.save(state, data / f"{name}.safetensors")
    done = subprocess.run([str(nn_parity), str(data), *CASES], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"nn_parity failed:\n{done.stdout}\n{done.stderr}"
    return data, json.loads(done.stdout)


def test_state_dict_keys_are_the_same_in_the_same_order(run):
    _, report = run
    keys = list(make_net().state_dict())
    assert report["keys"] == keys
    assert keys.index("10.weight") > keys.index("2.weight")  # registration order, not sorted order


@pytest.mark.parametrize("case", CASES)
def test_a_bad_load_fails_the_same_way(run, case):
    data, report = run
    state = bp.load(data / f"{case}.safetensors")  # what the C++ side read, in the order it read it
    cpp = report["loads"][case]
    assert cpp["strict"] == python_load(state, strict=True)
    assert cpp["strict"]["type"] == "RuntimeError"
    assert cpp["strict"]["message"].startswith("Error(s) in loading state_dict for Sequential:\n\t")
    assert cpp["lenient"] == python_load(state, strict=False)


def test_outputs_and_gradients_from_the_same_weights_agree(run):
    data, _ = run
    cpp = bp.load(data / "cpp_out.safetensors")
    net = make_net()
    net.load_state_dict(bp.load(data / "weights.safetensors"))
    inputs = bp.load(data / "input.safetensors")
    x = inputs["x"].detach().requires_grad_()
    y = net(x)
    (y * inputs["g"]).sum().backward()
    np.testing.assert_allclose(cpp["y"].numpy(), y.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(cpp["grad.input"].numpy(), x.grad.numpy(), rtol=1e-12, atol=1e-14)
    grads = {k[len("grad."):]: v for k, v in cpp.items() if k.startswith("grad.") and k != "grad.input"}
    assert sorted(grads) == sorted(name for name, _ in net.named_parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(grads[name].numpy(), p.grad.numpy(), rtol=1e-12, atol=1e-14, err_msg=name)
