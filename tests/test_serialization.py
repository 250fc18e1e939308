"""backprop.save / backprop.load: safetensors layout, round trips, atomic writes, clear errors."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import backprop as bp


def _state():
    bp.manual_seed(0)
    return {
        "0.weight": bp.randn(4, 3),
        "0.bias": bp.randn(4, dtype=bp.float64),
        "steps": bp.arange(5),
        "mask": bp.tensor([True, False, True]),
        "scalar": bp.tensor(2.5),
    }


def test_flat_state_dict_round_trip(tmp_path):
    state = _state()
    path = tmp_path / "model.safetensors"
    bp.save(state, path)
    loaded = bp.load(path)
    assert set(loaded) == set(state)
    for k, v in state.items():
        assert loaded[k].dtype == v.dtype
        assert loaded[k].shape == v.shape
        np.testing.assert_array_equal(loaded[k].numpy(), v.numpy())


def test_non_contiguous_and_grad_tensors_are_saved_by_value(tmp_path):
    w = bp.randn(3, 4, requires_grad=True)
    path = tmp_path / "w.safetensors"
    bp.save({"wt": w.t()}, path)
    np.testing.assert_array_equal(bp.load(path)["wt"].numpy(), w.detach().numpy().T)


def test_nested_structures_round_trip(tmp_path):
    obj = {
        "model": {"layer.weight": bp.ones(2, 2)},
        "optim": {"state": {0: {"step": bp.tensor(3.0), "exp_avg": bp.zeros(2)}},
                  "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0], "amsgrad": False}]},
        "epoch": 7,
        "name": "run-1",
        "none": None,
    }
    path = tmp_path / "ckpt.safetensors"
    bp.save(obj, path)
    back = bp.load(path)
    assert back["epoch"] == 7 and back["name"] == "run-1" and back["none"] is None
    assert back["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert list(back["optim"]["state"].keys()) == [0]
    assert back["optim"]["state"][0]["step"].item() == 3.0
    np.testing.assert_array_equal(back["model"]["layer.weight"].numpy(), np.ones((2, 2), np.float32))


def test_file_readable_by_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    state = _state()
    path = tmp_path / "model.safetensors"
    bp.save(state, path)
    arrays = st.load_file(str(path))
    for k, v in state.items():
        np.testing.assert_array_equal(arrays[k], v.numpy())


def test_reads_file_written_by_safetensors_package(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    arrays = {
        "a": np.arange(12, dtype=np.float32).reshape(3, 4),
        "b": np.array([1.5, -2.0]),
        "c": np.array([[1, 2], [3, 4]], dtype=np.int64),
        "d": np.array([True, False]),
    }
    path = tmp_path / "np.safetensors"
    st.save_file(arrays, str(path))
    loaded = bp.load(path)
    for k, v in arrays.items():
        np.testing.assert_array_equal(loaded[k].numpy(), v)


def test_torch_reads_module_weights(tmp_path):
    torch = pytest.importorskip("torch")
    stt = pytest.importorskip("safetensors.torch")
    path = tmp_path / "w.safetensors"
    w = bp.randn(5, 3)
    bp.save({"weight": w}, path)
    t = stt.load_file(str(path))["weight"]
    assert t.dtype == torch.float32
    np.testing.assert_array_equal(t.numpy(), w.numpy())


def test_unsupported_dtype_in_file_is_named(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "half.safetensors"
    st.save_file({"h": np.zeros(3, dtype=np.float16)}, str(path))
    with pytest.raises(RuntimeError, match="F16"):
        bp.load(path)


@pytest.mark.parametrize("cut", [0, 4, 9, 40, -3])
def test_truncated_file_raises_naming_the_file(tmp_path, cut):
    path = tmp_path / "model.safetensors"
    bp.save(_state(), path)
    data = path.read_bytes()
    bad = tmp_path / "truncated.safetensors"
    bad.write_bytes(data[:cut] if cut >= 0 else data[:len(data) + cut])
    with pytest.raises(RuntimeError, match="truncated.safetensors"):
        bp.load(bad)


def test_corrupted_header_raises(tmp_path):
    path = tmp_path / "model.safetensors"
    bp.save(_state(), path)
    data = bytearray(path.read_bytes())
    data[10] = ord("#")
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="corrupt.safetensors"):
        bp.load(bad)
    huge = tmp_path / "huge.safetensors"
    huge.write_bytes((2**62).to_bytes(8, "little") + b"{}")
    with pytest.raises(RuntimeError, match="huge.safetensors"):
        bp.load(huge)


def test_missing_file_raises(tmp_path):
    with pytest.raises(RuntimeError, match="nope.safetensors"):
        bp.load(tmp_path / "nope.safetensors")


def test_unserialisable_object_raises(tmp_path):
    with pytest.raises(TypeError, match="cannot store"):
        bp.save({"x": object()}, tmp_path / "x.safetensors")


_WRITER = """
import sys
import backprop as bp
big = bp.ones(50_000_000)
sys.stdout.write("ready\\n"); sys.stdout.flush()
while True:
    bp.save({"w": big}, sys.argv[1])
"""


def test_crash_mid_write_leaves_old_file_whole(tmp_path):
    path = tmp_path / "model.safetensors"
    old = {"w": bp.arange(10, dtype=bp.float32)}
    bp.save(old, path)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout.readline().strip() == b"ready"
    time.sleep(0.3)  # inside a write of 200 MB
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    loaded = bp.load(path)  # whichever version is there, it is whole
    assert loaded["w"].shape in [(10,), (50_000_000,)]
    if loaded["w"].shape == (10,):
        np.testing.assert_array_equal(loaded["w"].numpy(), np.arange(10, dtype=np.float32))


def test_save_and_load_through_file_objects(tmp_path):
    import io

    lin = bp.nn.Linear(3, 2)
    buffer = io.BytesIO()
    bp.save({"model": lin.state_dict(), "epoch": 4}, buffer)
    buffer.seek(0)
    back = bp.load(buffer)
    assert back["epoch"] == 4
    np.testing.assert_array_equal(back["model"]["weight"].numpy(), lin.weight.detach().numpy())
    with open(tmp_path / "w.pt", "wb") as f:
        bp.save(lin.state_dict(), f)
    with open(tmp_path / "w.pt", "rb") as f:
        assert sorted(bp.load(f)) == ["bias", "weight"]
    with pytest.raises(bp.SerializationError, match="BytesIO object"):
        bp.load(io.BytesIO(b"not a safetensors file"))
    with pytest.raises(TypeError, match="binary mode"):
        bp.load(io.StringIO("text"))
