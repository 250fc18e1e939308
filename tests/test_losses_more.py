"""BCELoss, L1Loss, SmoothL1Loss, HuberLoss, KLDivLoss and GaussianNLLLoss against PyTorch: module
API, every reduction, the clamp of BCE's logs at -100, weight broadcasting, variance shapes, and
the errors PyTorch raises. Gradchecks of the functions are in the op table (conftest.OP_CASES)."""

import warnings

import numpy as np
import pytest

import backprop as bp
import backprop.nn as nn
import backprop.nn.functional as F

F64 = dict(rtol=1e-9, atol=1e-12)


def _pair(lib, arrays, dtype="float64", grad=(True, False)):
    dt = getattr(lib, dtype)
    return [lib.tensor(a, dtype=dt, requires_grad=g) for a, g in zip(arrays, grad)]


def _compare(make_b, make_t, arrays, grad):
    """Runs the same loss in both libraries; compares the value and every input's gradient."""
    torch = pytest.importorskip("torch")
    xb, xt = _pair(bp, arrays, grad=grad), _pair(torch, arrays, grad=grad)
    lb, lt = make_b(*xb), make_t(*xt)
    np.testing.assert_allclose(lb.detach().numpy(), lt.detach().numpy(), **F64)
    g = np.random.default_rng(3).normal(size=tuple(lt.shape))
    lb.backward(bp.tensor(g, dtype=bp.float64))
    lt.backward(torch.tensor(g, dtype=torch.float64))
    for b, t in zip(xb, xt):
        if t.requires_grad:
            np.testing.assert_allclose(b.grad.numpy(), t.grad.numpy(), **F64)


def _rng_arrays(*shapes, low=-2.0, high=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, size=s) for s in shapes]


MODULES = [
    ("L1Loss", {}), ("SmoothL1Loss", {"beta": 0.5}), ("SmoothL1Loss", {"beta": 0.0}), ("HuberLoss", {"delta": 0.8}),
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,kwargs", MODULES, ids=[f"{n}{k}" for n, k in MODULES])
def test_regression_losses_match_torch(name, kwargs, reduction):
    torch = pytest.importorskip("torch")
    arrays = _rng_arrays((4, 5), (4, 5))
    _compare(lambda x, t: getattr(nn, name)(reduction=reduction, **kwargs)(x, t),
             lambda x, t: getattr(torch.nn, name)(reduction=reduction, **kwargs)(x, t), arrays, (True, True))


def test_regression_losses_broadcast_with_torch_warning():
    torch = pytest.importorskip("torch")
    arrays = _rng_arrays((3, 4), (4,))
    for fn in ["l1_loss", "smooth_l1_loss", "huber_loss"]:
        with pytest.warns(UserWarning, match="different to the input size"):
            _compare(getattr(F, fn), getattr(torch.nn.functional, fn), arrays, (True, True))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_module_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    arrays = [rng.uniform(0.02, 0.98, size=(3, 4)), rng.uniform(0, 1, size=(3, 4))]
    for w in [None, rng.uniform(0.5, 2, size=(4,)), rng.uniform(0.5, 2, size=(3, 1))]:
        wb = None if w is None else bp.tensor(w, dtype=bp.float64)
        wt = None if w is None else torch.tensor(w, dtype=torch.float64)
        _compare(lambda x, t: nn.BCELoss(weight=wb, reduction=reduction)(x, t),
                 lambda x, t: torch.nn.BCELoss(weight=wt, reduction=reduction)(x, t), arrays, (True, True))


def test_bce_clamps_log_at_minus_100_for_probabilities_0_and_1():
    torch = pytest.importorskip("torch")
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    t = np.array([0.0, 0.0, 1.0, 1.0, 0.25])
    for dtype in ["float32", "float64"]:
        xb = bp.tensor(x, dtype=getattr(bp, dtype), requires_grad=True)
        xt = torch.tensor(x, dtype=getattr(torch, dtype), requires_grad=True)
        lb = F.binary_cross_entropy(xb, bp.tensor(t, dtype=getattr(bp, dtype)), reduction="none")
        lt = torch.nn.functional.binary_cross_entropy(xt, torch.tensor(t, dtype=getattr(torch, dtype)),
                                                      reduction="none")
        np.testing.assert_allclose(lb.detach().numpy()[:4], [0.0, 100.0, 100.0, 0.0])
        np.testing.assert_allclose(lb.detach().numpy(), lt.detach().numpy(), rtol=1e-6)
        lb.sum().backward()
        lt.sum().backward()
        assert np.all(np.isfinite(xb.grad.numpy()))
        np.testing.assert_allclose(xb.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


def test_bce_errors():
    x = bp.full((2, 3), 0.5)
    with pytest.raises(ValueError, match=r"Using a target size .* different to the input size"):
        F.binary_cross_entropy(x, bp.full((3,), 0.5))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(bp.tensor([0.5, 1.5]), bp.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(bp.tensor([float("nan")]), bp.tensor([0.0]))
    with pytest.raises(ValueError, match="broadcast"):
        F.binary_cross_entropy(x, x, weight=bp.ones(4))
    with pytest.raises(ValueError, match="weight"):
        F.binary_cross_entropy(x, x, weight=bp.ones(2, 2, 3))
    with pytest.raises(ValueError, match="reduction"):
        F.binary_cross_entropy(x, x, reduction="avg")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.BCELoss(reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch(reduction, log_target):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(3, 5))
    logp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    q = rng.uniform(0.1, 1, size=(3, 5))
    q /= q.sum(1, keepdims=True)
    q[0, 1] = 0.0  # xlogy: a zero target contributes 0
    target = np.log(q + 1e-3) if log_target else q
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _compare(lambda x, t: nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, t),
                 lambda x, t: torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(x, t),
                 [logp, target], (True, False))


def test_kl_div_mean_warns_and_rejects_unknown_reduction():
    x = bp.zeros(2, 3)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, x)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.kl_div(x, x, reduction="avg")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.KLDivLoss(reduction="avg")
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1)])
def test_gaussian_nll_matches_torch(reduction, full, var_shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    arrays = [rng.normal(size=(4, 3)), rng.normal(size=(4, 3)), rng.uniform(0.2, 2, size=var_shape)]
    _compare(lambda x, t, v: nn.GaussianNLLLoss(full=full, reduction=reduction)(x, t, v),
             lambda x, t, v: torch.nn.GaussianNLLLoss(full=full, reduction=reduction)(x, t, v),
             arrays, (True, True, True))


def test_gaussian_nll_eps_clamp_keeps_the_gradient_and_float_var():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    arrays = [rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), np.array([[1e-9, 0.5], [0.0, 1e-3], [2.0, 1e-8]])]
    _compare(lambda x, t, v: F.gaussian_nll_loss(x, t, v, eps=1e-4),
             lambda x, t, v: torch.nn.functional.gaussian_nll_loss(x, t, v, eps=1e-4), arrays, (True, True, True))
    _compare(lambda x, t: F.gaussian_nll_loss(x, t, 0.7, reduction="sum"),
             lambda x, t: torch.nn.functional.gaussian_nll_loss(x, t, 0.7, reduction="sum"), arrays[:2], (True, True))


def test_gaussian_nll_errors():
    x = bp.zeros(4, 3)
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(x, x, bp.tensor([1.0, -1.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="var has negative entry/entries"):
        F.gaussian_nll_loss(x, x, -1.0)
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, bp.ones(3))
    with pytest.raises(ValueError, match="var is of incorrect size"):
        F.gaussian_nll_loss(x, x, bp.ones(2, 3))
    with pytest.raises(ValueError, match="is not valid"):
        F.gaussian_nll_loss(x, x, bp.ones(4, 3), reduction="avg")


def test_smooth_l1_and_huber_parameter_errors():
    x = bp.zeros(3)
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        F.huber_loss(x, x, delta=0.0)
    with pytest.raises(TypeError, match="float"):
        F.l1_loss(bp.tensor([1, 2]), bp.tensor([1, 2]))
    with pytest.raises(TypeError, match="deprecated"):
        F.l1_loss(x, x, size_average=True)


def test_losses_train_a_model_like_torch():
    # One regression step per loss through a Linear layer, parameters compared with torch.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    w0, b0 = rng.normal(size=(2, 3)), rng.normal(size=(2,))
    for name, kwargs in [("L1Loss", {}), ("SmoothL1Loss", {"beta": 0.3}), ("HuberLoss", {"delta": 0.5})]:
        results = []
        for lib in (bp, torch):
            lin = (nn if lib is bp else torch.nn).Linear(3, 2, dtype=lib.float64)
            with lib.no_grad():
                lin.weight.copy_(lib.tensor(w0))
                lin.bias.copy_(lib.tensor(b0))
            loss = getattr(nn if lib is bp else torch.nn, name)(**kwargs)(lin(lib.tensor(x)), lib.tensor(y))
            loss.backward()
            results.append((loss.item(), lin.weight.grad.numpy().copy(), lin.bias.grad.numpy().copy()))
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, **F64)
