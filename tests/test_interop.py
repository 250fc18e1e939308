"""NumPy and DLPack interop: shared memory both ways, conversions and round trips."""

import numpy as np
import pytest

import backprop as bp


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_from_numpy_shares_memory(dtype):
    a = np.zeros((2, 3), dtype=dtype)
    t = bp.from_numpy(a)
    assert t.shape == (2, 3)
    assert t.dtype == {np.float32: bp.float32, np.float64: bp.float64, np.int64: bp.int64, np.bool_: bp.bool}[dtype]
    a[0, 1] = 1
    assert t[0, 1].item() == 1
    t[1, 2] = 1
    assert a[1, 2] == 1


def test_from_numpy_keeps_strides_and_keeps_array_alive():
    a = np.arange(12, dtype=np.float64).reshape(3, 4)[:, ::2]
    t = bp.from_numpy(a)
    assert t.stride() == (4, 2)
    np.testing.assert_array_equal(t.numpy(), a)
    del a
    np.testing.assert_array_equal(t.numpy(), [[0, 2], [4, 6], [8, 10]])


def test_from_numpy_0d():
    t = bp.from_numpy(np.array(2.5))
    assert t.shape == () and t.item() == 2.5


def test_numpy_is_a_view():
    t = bp.tensor([[1.0, 2.0], [3.0, 4.0]])
    n = t.numpy()
    n[0, 0] = 9.0
    assert t[0, 0].item() == 9.0
    t[1, 1] = -1.0
    assert n[1, 1] == -1.0
    tt = t.t().numpy()
    assert tt.shape == (2, 2) and np.shares_memory(tt, n)
    np.testing.assert_array_equal(tt, n.T)


def test_numpy_keeps_storage_alive():
    n = bp.arange(5).numpy()
    import gc

    gc.collect()
    np.testing.assert_array_equal(n, np.arange(5))


def test_numpy_refuses_tensor_requiring_grad():
    x = bp.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)"):
        x.numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 1.0])


def test_array_protocol():
    t = bp.tensor([1.0, 2.0])
    a = np.asarray(t)
    assert a.dtype == np.float32 and np.shares_memory(a, t.numpy())
    b = np.asarray(t, dtype=np.float64)
    assert b.dtype == np.float64
    np.testing.assert_array_equal(b, [1.0, 2.0])
    c = np.array(t, copy=True)
    c[0] = 5
    assert t[0].item() == 1.0
    assert t.__array__(copy=False) is not None
    with pytest.raises(ValueError):
        t.__array__(dtype=np.float64, copy=False)
    assert np.add(bp.tensor([1, 2]), 1).tolist() == [2, 3]


def test_numpy_operands_in_arithmetic():
    t = bp.tensor([1.0, 2.0])
    r = t + np.array([1.0, 1.0], dtype=np.float32)
    assert isinstance(r, bp.Tensor)
    np.testing.assert_array_equal(r.numpy(), [2.0, 3.0])
    assert isinstance(np.float32(2.0) * t, bp.Tensor)


def test_tensor_from_numpy_copies():
    a = np.ones(3)
    t = bp.tensor(a)
    a[0] = 5
    assert t[0].item() == 1.0
    assert t.dtype == bp.float64


@pytest.mark.parametrize("dtype", [bp.float32, bp.float64, bp.int64, bp.bool])
def test_dlpack_roundtrip_with_numpy(dtype):
    t = bp.tensor([[1, 0, 1], [0, 1, 1]], dtype=dtype)
    assert t.__dlpack_device__() == (1, 0)
    a = np.from_dlpack(t)
    np.testing.assert_array_equal(a, t.numpy())
    assert np.shares_memory(a, t.numpy())
    back = bp.from_dlpack(a)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back.numpy(), t.numpy())


def test_from_dlpack_of_numpy_shares_memory():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = bp.from_dlpack(a)
    a[1, 1] = 100
    assert t[1, 1].item() == 100


def test_from_dlpack_of_backprop_tensor_and_capsule():
    t = bp.tensor([1.0, 2.0, 3.0])
    u = bp.from_dlpack(t)
    u[0] = 7.0
    assert t[0].item() == 7.0
    v = bp.from_dlpack(t.__dlpack__())
    np.testing.assert_array_equal(v.numpy(), t.numpy())
    s = t[::2]
    np.testing.assert_array_equal(bp.from_dlpack(s).numpy(), [7.0, 3.0])


def test_dlpack_refuses_requires_grad():
    with pytest.raises(RuntimeError, match="detach"):
        bp.ones(2, requires_grad=True).__dlpack__()


def test_dlpack_roundtrip_with_torch():
    torch = pytest.importorskip("torch")
    t = bp.tensor([[1.0, 2.0], [3.0, 4.0]])
    tt = torch.from_dlpack(t)
    assert tt.dtype == torch.float32 and tt.shape == (2, 2)
    tt[1, 1] = 40.0
    assert t[1, 1].item() == 40.0
    src = torch.arange(6, dtype=torch.float64).reshape(2, 3).t()
    b = bp.from_dlpack(src)
    assert b.shape == (3, 2) and b.stride() == (1, 3) and b.dtype == bp.float64
    np.testing.assert_array_equal(b.numpy(), src.numpy())
    src[0, 0] = -5.0
    assert b[0, 0].item() == -5.0
    for tdt, bdt in [(torch.int64, bp.int64), (torch.bool, bp.bool), (torch.float32, bp.float32)]:
        x = torch.tensor([1, 0, 1], dtype=tdt)
        y = bp.from_dlpack(x)
        assert y.dtype == bdt
        np.testing.assert_array_equal(y.numpy(), x.numpy())
        z = torch.from_dlpack(y)
        assert z.dtype == tdt and torch.equal(z, x)


def test_from_dlpack_of_torch_then_differentiate():
    torch = pytest.importorskip("torch")
    x = bp.from_dlpack(torch.tensor([1.0, 2.0])).requires_grad_()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_interop_memory_is_not_counted_and_released():
    import gc

    gc.collect()
    before = bp.memory_stats()["bytes_in_use"]
    a = np.ones(100_000)
    t = bp.from_numpy(a)
    assert bp.memory_stats()["bytes_in_use"] == before  # borrowed, not allocated
    del t, a
    gc.collect()
    assert bp.memory_stats()["bytes_in_use"] == before


def test_asarray_refuses_tensor_that_requires_grad_like_torch():
    t = bp.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        np.asarray(t)
    np.testing.assert_array_equal(np.asarray(t.detach()), np.ones(3, np.float32))
