"""Second and third derivatives where the op table's random points do not reach: in-place
activations recorded into a graph, the branch points of the piecewise activations, inputs large
enough to overflow an unselected exponential, and cumprod slices with several zeros."""

import numpy as np
import pytest

import backprop as bp
import backprop.nn as nn
import backprop.nn.functional as F
from backprop.autograd import gradgradcheck


def _nth_derivatives(lib, fn, a, order, seed=1):
    """x's gradient of sum(w_1 * d/dx sum(w_0 * fn(x)) ...) taken `order` times, as numpy."""
    rng = np.random.default_rng(seed)
    x = lib.tensor(a, dtype=lib.float64, requires_grad=True)
    y = fn(x)
    out = []
    for k in range(order):
        w = lib.tensor(rng.normal(size=a.shape), dtype=lib.float64)
        if y.requires_grad:
            (y,) = lib.autograd.grad((y * w).sum(), x, create_graph=k + 1 < order)
        else:  # a constant derivative (piecewise-linear op): backprop records no graph for it
            y = lib.zeros_like(x)
        out.append(y.detach().numpy())
    return out


def _compare(fb, ft, a, order=2):
    torch = pytest.importorskip("torch")
    for b, t in zip(_nth_derivatives(bp, fb, a, order), _nth_derivatives(torch, ft, a, order)):
        assert np.all(np.isfinite(b))
        np.testing.assert_allclose(b, t, rtol=1e-9, atol=1e-11)


# torch differentiates every one of these twice except Hardsigmoid (covered by gradgradcheck below).
INPLACE = [("ReLU6", {}), ("Hardtanh", {"min_val": -0.5}), ("ELU", {"alpha": 0.5}), ("SELU", {}),
           ("CELU", {"alpha": 2.0}), ("SiLU", {}), ("Mish", {}), ("Hardswish", {})]


@pytest.mark.parametrize("name,kwargs", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_second_derivative_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(4).uniform(-3, 3, size=(3, 5))

    def run(lib, nn_mod):
        def f(x):
            h = x * 1.5
            return getattr(nn_mod, name)(inplace=True, **kwargs)(h)
        return f

    _compare(run(bp, nn), run(torch, torch.nn), a)


@pytest.mark.parametrize("fn", ["hardsigmoid", "hardswish", "elu", "silu"])
def test_inplace_gradgradcheck(fn):
    x = bp.tensor(np.random.default_rng(2).uniform(-2.5, 2.5, size=(2, 3)), dtype=bp.float64, requires_grad=True)
    assert gradgradcheck(lambda t: getattr(F, fn)(t * 1.0, inplace=True), [x], eps=1e-6, atol=1e-5, rtol=1e-3)


BRANCH_POINTS = np.array([-3.0, 3.0, 0.0, -1.0, 1.0, 6.0, -0.5, 2.0, 1000.0, -1000.0])


@pytest.mark.parametrize("name", ["hardswish", "hardtanh", "relu6", "elu", "selu", "celu", "silu", "mish", "softsign",
                                  "tanhshrink", "logsigmoid"])
def test_second_derivative_at_branch_points_and_large_inputs(name):
    torch = pytest.importorskip("torch")
    # torch's mish gives NaN second derivatives at +-1000 (backprop's are finite): compared elsewhere.
    points = BRANCH_POINTS[:-2] if name == "mish" else BRANCH_POINTS
    _compare(lambda x: getattr(F, name)(x), lambda x: getattr(torch.nn.functional, name)(x), points)


def test_hardswish_gradient_at_its_kinks_matches_torch():
    x = bp.tensor([-3.0, 3.0, -2.5, 2.5, -4.0, 4.0], dtype=bp.float64, requires_grad=True)
    F.hardswish(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, -2.5 / 3 + 0.5, 2.5 / 3 + 0.5, 0.0, 1.0])


def test_elu_family_second_derivative_at_large_float32_inputs_is_finite():
    x = bp.tensor([100.0, 200.0, -3.0], requires_grad=True)
    for fn in (F.elu, F.selu, F.celu):
        (g,) = bp.autograd.grad(fn(x).sum(), x, create_graph=True)
        (h,) = bp.autograd.grad(g.sum(), x)
        assert np.all(np.isfinite(h.numpy())) and h.numpy()[0] == 0.0 and h.numpy()[2] != 0.0


@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_third_derivative_with_several_zeros_matches_torch(dim):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(6).uniform(0.5, 1.5, size=(5, 5))
    a[0, 0] = a[2, 0] = a[4, 4] = a[1, 2] = a[3, 2] = a[1, 3] = 0.0
    _compare(lambda x: bp.cumprod(x, dim), lambda x: torch.cumprod(x, dim), a, order=3)


def test_cumprod_gradgradcheck_with_several_zeros_and_a_single_element_dim():
    a = np.random.default_rng(8).uniform(0.5, 1.5, size=(2, 4))
    a[0, 1] = a[0, 3] = a[1, 0] = 0.0
    x = bp.tensor(a, dtype=bp.float64, requires_grad=True)
    assert gradgradcheck(lambda t: bp.cumprod(t, 1), [x], eps=1e-6, atol=1e-5, rtol=1e-3)
    y = bp.tensor([[0.0], [2.0]], dtype=bp.float64, requires_grad=True)
    assert gradgradcheck(lambda t: bp.cumprod(t, 1) * t, [y], eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("fn", [lambda x: F.elu(x), lambda x: F.hardswish(x), lambda x: bp.cumprod(x, 0)])
def test_first_order_backward_builds_no_graph(fn):
    x = bp.tensor([0.0, -1.0, 2.0], dtype=bp.float64, requires_grad=True)
    fn(x).sum().backward()
    assert not x.grad.requires_grad and x.grad.grad_fn is None
