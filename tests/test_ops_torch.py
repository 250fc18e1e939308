"""Every op's forward values and gradients against PyTorch, in float32 and float64, with broadcasting."""

import numpy as np
import pytest

import backprop as bp  # noqa: E402
import backprop.nn.functional as F  # noqa: E402

TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-11)}


def _extras(lib, ex, dtype):
    torch = pytest.importorskip("torch")
    out = {}
    for k, v in ex.items():
        v = np.asarray(v)
        if lib is torch:
            out[k] = torch.tensor(v, dtype=getattr(torch, dtype)) if v.dtype.kind == "f" else torch.tensor(v)
        else:
            out[k] = bp.tensor(v, dtype=getattr(bp, dtype)) if v.dtype.kind == "f" else bp.tensor(v)
    return out


def _run(lib, case, arrays, extras, dtype, upstream_seed):
    torch = pytest.importorskip("torch")
    functional = torch.nn.functional if lib is torch else F
    dt = getattr(lib, dtype)
    xs = [lib.tensor(a, dtype=dt, requires_grad=True) for a in arrays]
    out = case.fn(lib, functional, xs, _extras(lib, extras, dtype))
    assert out.requires_grad
    g = np.random.default_rng(upstream_seed).normal(size=tuple(out.shape))
    out.backward(lib.tensor(g, dtype=dt))
    value = out.detach().numpy()
    grads = [x.grad.detach().numpy() if x.grad is not None else None for x in xs]
    return out, value, grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_and_backward_match_torch(op_case, dtype):
    torch = pytest.importorskip("torch")
    arrays, extras = op_case.arrays(seed=7)
    t_out, t_val, t_grads = _run(torch, op_case, arrays, extras, dtype, 11)
    b_out, b_val, b_grads = _run(bp, op_case, arrays, extras, dtype, 11)
    tol = TOL[dtype]
    assert b_out.dtype == getattr(bp, dtype)
    assert tuple(b_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(b_val, t_val, **tol, err_msg=f"{op_case.name}: forward")
    for i, (b, t) in enumerate(zip(b_grads, t_grads)):
        assert (b is None) == (t is None), f"{op_case.name}: input {i} gradient presence"
        if t is not None:
            assert b.shape == t.shape
            np.testing.assert_allclose(b, t, **tol, err_msg=f"{op_case.name}: gradient of input {i}")


# ---- ops without gradients -------------------------------------------------------------------


@pytest.mark.parametrize("op", ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_comparisons_match_torch(op, dtype, rng):
    torch = pytest.importorskip("torch")
    a = rng.integers(-2, 3, size=(3, 1, 4))
    b = rng.integers(-2, 3, size=(2, 4))
    bt = getattr(bp.tensor(a, dtype=getattr(bp, dtype)), op)(bp.tensor(b, dtype=getattr(bp, dtype)))
    tt = getattr(torch.tensor(a, dtype=getattr(torch, dtype)), op)(torch.tensor(b, dtype=getattr(torch, dtype)))
    assert bt.dtype == bp.bool
    np.testing.assert_array_equal(bt.numpy(), tt.numpy())
    # Against a Python number on either side.
    np.testing.assert_array_equal(getattr(bp.tensor(a), op)(1).numpy(), getattr(torch.tensor(a), op)(1).numpy())


def test_comparison_of_tensor_requiring_grad_has_no_grad():
    x = bp.tensor([1.0, -1.0, 2.0], requires_grad=True)
    m = x > 0
    assert m.dtype == bp.bool and not m.requires_grad and m.grad_fn is None
    np.testing.assert_array_equal(m.numpy(), [True, False, True])


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_argmax_matches_torch(dim, keepdim, rng):
    torch = pytest.importorskip("torch")
    a = rng.permutation(12).reshape(3, 4).astype(np.float32)
    if dim is None and keepdim:
        kwargs = {"keepdim": True}
    else:
        kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    b = bp.argmax(bp.tensor(a), **kwargs)
    t = torch.argmax(torch.tensor(a), **kwargs)
    assert b.dtype == bp.int64
    np.testing.assert_array_equal(b.numpy(), t.numpy())
    np.testing.assert_array_equal(bp.tensor(a).argmax(**kwargs).numpy(), t.numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_dim_indices_match_torch(dtype, rng):
    torch = pytest.importorskip("torch")
    a = rng.permutation(24).reshape(2, 3, 4).astype(dtype)
    for dim in range(-3, 3):
        b = bp.tensor(a).max(dim=dim)
        t = torch.tensor(a).max(dim=dim)
        np.testing.assert_array_equal(b.values.numpy(), t.values.numpy())
        np.testing.assert_array_equal(b.indices.numpy(), t.indices.numpy())
        b = bp.tensor(a).min(dim, keepdim=True)
        t = torch.tensor(a).min(dim, keepdim=True)
        np.testing.assert_array_equal(b[0].numpy(), t[0].numpy())
        np.testing.assert_array_equal(b[1].numpy(), t[1].numpy())


def test_max_ties_share_gradient_like_torch():
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    x = bp.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    x.max().backward()
    tx.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_integer_arithmetic_matches_torch(rng):
    torch = pytest.importorskip("torch")
    a = rng.integers(-5, 6, size=(3, 4))
    b = rng.integers(1, 4, size=(4,))
    for name in ["__add__", "__sub__", "__mul__", "__truediv__", "__pow__"]:
        bt = getattr(bp.tensor(a), name)(bp.tensor(b))
        tt = getattr(torch.tensor(a), name)(torch.tensor(b))
        assert str(bt.dtype).split(".")[-1] == str(tt.dtype).split(".")[-1], name
        np.testing.assert_allclose(bt.numpy(), tt.numpy(), rtol=1e-6, err_msg=name)
    # int tensor with a float scalar promotes to float32, like torch.
    assert (bp.tensor(a) * 0.5).dtype == bp.float32
    np.testing.assert_allclose((bp.tensor(a) * 0.5).numpy(), (torch.tensor(a) * 0.5).numpy())


def test_large_integer_power_is_exact():
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal((bp.tensor([3, -2, 7]) ** 13).numpy(), (torch.tensor([3, -2, 7]) ** 13).numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_inputs_use_parallel_kernels_and_match_torch(dtype, rng):
    # Large enough to cross the OpenMP grain size in elementwise, reduction and softmax kernels.
    torch = pytest.importorskip("torch")
    a = rng.normal(size=(300, 257))
    b = rng.normal(size=(257,))
    dt, tdt = getattr(bp, dtype), getattr(torch, dtype)
    x, tx = bp.tensor(a, dtype=dt, requires_grad=True), torch.tensor(a, dtype=tdt, requires_grad=True)
    y, ty = bp.tensor(b, dtype=dt, requires_grad=True), torch.tensor(b, dtype=tdt, requires_grad=True)
    out = (F.log_softmax(x * y + x.exp() / 3, dim=1) * x.tanh()).sum(0).mean() + (x @ y).sum()
    tout = (torch.log_softmax(tx * ty + tx.exp() / 3, dim=1) * tx.tanh()).sum(0).mean() + (tx @ ty).sum()
    out.backward()
    tout.backward()
    tol = dict(rtol=2e-3, atol=2e-3) if dtype == "float32" else dict(rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(out.item(), tout.item(), **tol)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), **tol)
