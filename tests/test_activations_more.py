"""The activation layers beyond ReLU/Tanh/Sigmoid against PyTorch, inplace=True semantics, PReLU
learning, and the errors PyTorch raises. Values and gradients of the functions themselves are in
the op table (conftest.OP_CASES)."""

import numpy as np
import pytest

import backprop as bp
import backprop.nn as nn
import backprop.nn.functional as F

# (name, constructor arguments) of every layer compared with torch.nn's namesake.
LAYERS = [
    ("ReLU6", {}), ("Hardtanh", {}), ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}), ("ELU", {"alpha": 0.7}),
    ("SELU", {}), ("CELU", {"alpha": 1.5}), ("SiLU", {}), ("Mish", {}), ("Hardswish", {}), ("Hardsigmoid", {}),
    ("Softsign", {}), ("Tanhshrink", {}), ("LogSigmoid", {}), ("GLU", {}), ("GLU", {"dim": 0}),
    ("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}),
]

# Layers that take inplace, with their constructor arguments.
INPLACE = [
    ("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.1}), ("ReLU6", {}), ("Hardtanh", {"min_val": -0.5}),
    ("ELU", {"alpha": 0.5}), ("SELU", {}), ("CELU", {"alpha": 2.0}), ("SiLU", {}), ("Mish", {}),
    ("Hardswish", {}), ("Hardsigmoid", {}),
]


def _x(seed=0, shape=(4, 6), scale=4.0):
    return np.random.default_rng(seed).uniform(-scale, scale, size=shape)


@pytest.mark.parametrize("name,kwargs", LAYERS, ids=[f"{n}{k}" for n, k in LAYERS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layer_matches_torch(name, kwargs, dtype):
    torch = pytest.importorskip("torch")
    a = _x()
    xb = bp.tensor(a, dtype=getattr(bp, dtype), requires_grad=True)
    xt = torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True)
    yb, yt = getattr(nn, name)(**kwargs)(xb), getattr(torch.nn, name)(**kwargs)(xt)
    tol = dict(rtol=1e-9, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(yb.detach().numpy(), yt.detach().numpy(), **tol)
    g = np.random.default_rng(1).normal(size=tuple(yt.shape))
    yb.backward(bp.tensor(g, dtype=getattr(bp, dtype)))
    yt.backward(torch.tensor(g, dtype=getattr(torch, dtype)))
    np.testing.assert_allclose(xb.grad.numpy(), xt.grad.numpy(), **tol)


def test_large_inputs_take_the_vector_loops_and_match_torch():
    # Long enough for the AVX2/AVX-512 loops and odd-sized for their tails; the extremes check
    # overflow handling (mish and logsigmoid at +-60, elu near 0 where expm1 matters).
    torch = pytest.importorskip("torch")
    a = np.concatenate([np.random.default_rng(2).uniform(-8, 8, 1001), [-60.0, 60.0, 1e-9, -1e-9, 0.0]])
    for fn in ["elu", "selu", "celu", "silu", "mish", "softsign", "tanhshrink", "logsigmoid"]:
        for dtype, tol in [("float64", dict(rtol=1e-9, atol=1e-13)), ("float32", dict(rtol=1e-5, atol=1e-6))]:
            xb = bp.tensor(a, dtype=getattr(bp, dtype), requires_grad=True)
            xt = torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True)
            yb, yt = getattr(F, fn)(xb), getattr(torch.nn.functional, fn)(xt)
            np.testing.assert_allclose(yb.detach().numpy(), yt.detach().numpy(), **tol, err_msg=f"{fn} {dtype}")
            yb.sum().backward()
            yt.sum().backward()
            np.testing.assert_allclose(xb.grad.numpy(), xt.grad.numpy(), **tol, err_msg=f"{fn} grad {dtype}")


def test_nan_propagates_as_in_torch():
    torch = pytest.importorskip("torch")
    a = np.array([np.nan, -1.0, 2.0])
    for fn in ["hardtanh", "relu6", "elu", "silu", "mish", "hardswish", "hardsigmoid", "softsign", "logsigmoid"]:
        b = getattr(F, fn)(bp.tensor(a, dtype=bp.float64)).numpy()
        t = getattr(torch.nn.functional, fn)(torch.tensor(a, dtype=torch.float64)).numpy()
        np.testing.assert_array_equal(np.isnan(b), np.isnan(t), err_msg=fn)


# ---- inplace=True --------------------------------------------------------------------------------


@pytest.mark.parametrize("name,kwargs", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_layer_writes_into_its_input(name, kwargs):
    torch = pytest.importorskip("torch")
    a = _x(3)
    x = bp.tensor(a)
    version = x._version()
    y = getattr(nn, name)(inplace=True, **kwargs)(x)
    assert y is x
    assert x._version() > version
    expected = getattr(torch.nn, name)(**kwargs)(torch.tensor(a, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(x.numpy(), expected, rtol=2e-5, atol=2e-6)
    assert "inplace=True" in repr(getattr(nn, name)(inplace=True, **kwargs))


@pytest.mark.parametrize("name,kwargs", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_gradient_matches_torch(name, kwargs):
    # The in-place write continues the input's history: the gradient reaching the leaf is the
    # out-of-place one.
    torch = pytest.importorskip("torch")
    a = _x(4)
    lb = bp.tensor(a, dtype=bp.float64, requires_grad=True)
    lt = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    hb, ht = lb * 1.5, lt * 1.5
    yb = getattr(nn, name)(inplace=True, **kwargs)(hb)
    yt = getattr(torch.nn, name)(inplace=True, **kwargs)(ht)
    assert yb is hb and yb.requires_grad
    (yb * yb).sum().backward()
    (yt * yt).sum().backward()
    np.testing.assert_allclose(lb.grad.numpy(), lt.grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("fn", ["relu", "leaky_relu", "relu6", "hardtanh", "elu", "selu", "celu", "silu", "mish",
                                "hardswish", "hardsigmoid", "dropout"])
def test_inplace_on_a_leaf_that_requires_grad_raises(fn):
    x = bp.randn(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        getattr(F, fn)(x, inplace=True)
    # Under no_grad the write is allowed, as in PyTorch.
    with bp.no_grad():
        assert getattr(F, fn)(x, inplace=True) is x


def test_inplace_after_a_saving_op_raises_in_backward():
    torch = pytest.importorskip("torch")
    for lib, functional in [(bp, F), (torch, torch.nn.functional)]:
        w = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        h = w * 2.0
        z = (h * h).sum()  # mul saved h
        functional.elu(h, inplace=True)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.backward()


def test_inplace_without_grad_needs_no_copy_and_handles_views():
    a = _x(5, (3, 4))
    x = bp.tensor(a)
    F.relu6(x.t(), inplace=True)  # a transposed view writes through to x
    np.testing.assert_allclose(x.numpy(), np.clip(a, 0, 6).astype(np.float32), rtol=1e-6)
    sl = bp.tensor(a)
    F.hardtanh(sl[1], inplace=True)
    np.testing.assert_allclose(sl.numpy()[1], np.clip(a[1], -1, 1).astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(sl.numpy()[0], a[0].astype(np.float32), rtol=1e-6)


def test_inplace_functions_and_tensor_method():
    x = bp.tensor([-1.0, 2.0])
    assert F.relu_(x) is x and x.tolist() == [0.0, 2.0]
    y = bp.tensor([-1.0, 2.0])
    assert y.relu_() is y and y.tolist() == [0.0, 2.0]
    z = bp.tensor([-2.0, 0.5, 3.0])
    assert F.hardtanh_(z) is z and z.tolist() == [-1.0, 0.5, 1.0]
    with pytest.raises(TypeError, match="floating"):
        F.relu(bp.tensor([1, -2]), inplace=True)


def test_dropout_inplace():
    x = bp.ones(1000)
    out = nn.Dropout(0.5, inplace=True)(x)
    assert out is x
    vals = set(np.unique(x.numpy()).tolist())
    assert vals <= {0.0, 2.0} and len(vals) == 2
    # Eval mode and p=0 write nothing.
    y = bp.ones(5)
    v = y._version()
    d = nn.Dropout(0.5, inplace=True)
    d.eval()
    assert d(y) is y and y._version() == v and y.tolist() == [1.0] * 5
    assert F.dropout(y, 0.0, inplace=True) is y
    # A recorded in-place dropout passes the gradient through its mask.
    w = bp.ones(200, requires_grad=True)
    h = w * 3.0
    F.dropout(h, 0.25, training=True, inplace=True)
    h.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), (h.detach().numpy() != 0) * 3.0 / 0.75, rtol=1e-6)
    assert "inplace=True" in repr(nn.Dropout(0.1, inplace=True))


# ---- PReLU ---------------------------------------------------------------------------------------


def test_prelu_parameters_and_repr():
    m = nn.PReLU()
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert m.weight.tolist() == [0.25] and m.weight.requires_grad
    m3 = nn.PReLU(num_parameters=3, init=0.1, dtype=bp.float64)
    assert tuple(m3.weight.shape) == (3,) and m3.weight.dtype == bp.float64
    np.testing.assert_allclose(m3.weight.detach().numpy(), [0.1] * 3)
    assert repr(m3) == "PReLU(num_parameters=3)"


@pytest.mark.parametrize("num_parameters", [1, 3])
def test_prelu_learns_like_torch(num_parameters):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    xs = [rng.normal(size=(4, 3, 5)) for _ in range(3)]
    targets = [rng.normal(size=(4, 3, 5)) for _ in range(3)]
    mb = nn.PReLU(num_parameters, init=0.3, dtype=bp.float64)
    mt = torch.nn.PReLU(num_parameters, init=0.3, dtype=torch.float64)
    ob = bp.optim.SGD(mb.parameters(), lr=0.5)
    ot = torch.optim.SGD(mt.parameters(), lr=0.5)
    for x, t in zip(xs, targets):
        for lib, m, opt in [(bp, mb, ob), (torch, mt, ot)]:
            opt.zero_grad()
            loss = ((m(lib.tensor(x)) - lib.tensor(t)) ** 2).mean()
            loss.backward()
            opt.step()
        np.testing.assert_allclose(mb.weight.detach().numpy(), mt.weight.detach().numpy(), rtol=1e-10)
    assert not np.allclose(mb.weight.detach().numpy(), 0.3)


def test_prelu_state_dict_round_trips_with_torch():
    torch = pytest.importorskip("torch")
    mt = torch.nn.PReLU(4, init=0.1)
    with torch.no_grad():
        mt.weight.copy_(torch.tensor([0.1, 0.2, 0.3, 0.4]))
    mb = nn.PReLU(4)
    mb.load_state_dict({k: bp.tensor(v.numpy()) for k, v in mt.state_dict().items()})
    a = _x(7, (2, 4, 3))
    np.testing.assert_allclose(mb(bp.tensor(a, dtype=bp.float32)).detach().numpy(),
                               mt(torch.tensor(a, dtype=torch.float32)).detach().numpy(), rtol=1e-6)


# ---- errors --------------------------------------------------------------------------------------


def test_errors():
    x = bp.randn(3, 5)
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 5"):
        F.glu(x)
    with pytest.raises(RuntimeError, match="scalars"):
        F.glu(bp.tensor(1.0))
    with pytest.raises(IndexError):
        F.glu(x, dim=2)
    with pytest.raises(ValueError, match="Mismatch of parameter numbers and input channel size"):
        F.prelu(x, bp.ones(2))
    with pytest.raises(ValueError, match="scalar or 1D"):
        F.prelu(x, bp.ones(1, 1))
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(1.0, 1.0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        F.celu(x, alpha=0.0)
    with pytest.raises(TypeError, match="float32"):
        F.prelu(x, bp.ones(1, dtype=bp.float64))
