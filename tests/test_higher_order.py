"""Gradients of gradients (create_graph=True): Hessian-vector products, a gradient penalty, a
MAML-style inner step and Python Functions, against PyTorch in float64, plus the engine's rules."""

import numpy as np
import pytest

import backprop as bp
import backprop.nn.functional as F

TOL = dict(rtol=1e-10, atol=1e-10)


def _np(t):
    return None if t is None else t.detach().numpy()


def _mlp_weights(rng, sizes):
    return [(rng.normal(size=(o, i)) / np.sqrt(i), rng.normal(size=o) * 0.1) for i, o in zip(sizes, sizes[1:])]


def _tensors(lib, arrays):
    return [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]


# ---- Hessian-vector product of a 3-layer tanh MLP -------------------------------------------


def _hvp(lib, nn_lib, weights, x, y, vs):
    layers = []
    for k, (w, b) in enumerate(weights):
        lin = nn_lib.Linear(w.shape[1], w.shape[0], dtype=lib.float64)
        with lib.no_grad():
            lin.weight.copy_(lib.tensor(w, dtype=lib.float64))
            lin.bias.copy_(lib.tensor(b, dtype=lib.float64))
        layers.append(lin)
        if k < len(weights) - 1:
            layers.append(nn_lib.Tanh())
    model = nn_lib.Sequential(*layers)  # backprop fuses Linear + Tanh here
    params = list(model.parameters())
    loss = ((model(lib.tensor(x, dtype=lib.float64)) - lib.tensor(y, dtype=lib.float64)) ** 2).mean()
    grads = lib.autograd.grad(loss, params, create_graph=True)
    dot = sum((g * lib.tensor(v, dtype=lib.float64)).sum() for g, v in zip(grads, vs))
    return [_np(g) for g in grads], [_np(h) for h in lib.autograd.grad(dot, params)]


def test_hessian_vector_product_of_tanh_mlp_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    weights = _mlp_weights(rng, [4, 6, 5, 2])
    x, y = rng.normal(size=(7, 4)), rng.normal(size=(7, 2))
    vs = [a for w, b in weights for a in (rng.normal(size=w.shape), rng.normal(size=b.shape))]
    b_g, b_hv = _hvp(bp, bp.nn, weights, x, y, vs)
    t_g, t_hv = _hvp(torch, torch.nn, weights, x, y, vs)
    for b, t in zip(b_g + b_hv, t_g + t_hv):
        np.testing.assert_allclose(b, t, **TOL)


def test_hessian_vector_product_matches_finite_differences():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4))
    a, v = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))

    def grad_at(w_np, create_graph):
        w = bp.tensor(w_np, dtype=bp.float64, requires_grad=True)
        loss = bp.tanh(bp.tensor(x, dtype=bp.float64) @ w).exp().sum()
        (g,) = bp.autograd.grad(loss, w, create_graph=create_graph)
        return w, g

    w, g = grad_at(a, True)
    (hv,) = bp.autograd.grad((g * bp.tensor(v, dtype=bp.float64)).sum(), w)
    eps = 1e-6
    numeric = (_np(grad_at(a + eps * v, False)[1]) - _np(grad_at(a - eps * v, False)[1])) / (2 * eps)
    np.testing.assert_allclose(_np(hv), numeric, rtol=1e-6, atol=1e-7)


# ---- WGAN-GP gradient penalty ---------------------------------------------------------------


def _gradient_penalty(lib, weights, x):
    ws = _tensors(lib, [a for w, b in weights for a in (w, b)])
    inp = lib.tensor(x, dtype=lib.float64, requires_grad=True)
    h = inp
    for k in range(0, len(ws), 2):
        h = lib.nn.functional.linear(h, ws[k], ws[k + 1])
        if k < len(ws) - 2:
            h = lib.nn.functional.leaky_relu(h, 0.2) if k == 0 else lib.tanh(h)
    (d_inp,) = lib.autograd.grad(h.sum(), inp, create_graph=True)
    penalty = ((((d_inp**2).sum(1) + 1e-12).sqrt() - 1.0) ** 2).mean()
    penalty.backward()
    return [_np(penalty)] + [_np(w.grad) for w in ws]


def test_gradient_penalty_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    weights = _mlp_weights(rng, [3, 8, 6, 1])
    x = rng.normal(size=(5, 3))
    b_out, t_out = _gradient_penalty(bp, weights, x), _gradient_penalty(torch, weights, x)
    # The last bias does not reach d critic / d input: no gradient on either side.
    assert b_out[-1] is None and t_out[-1] is None
    for b, t in zip(b_out[:-1], t_out[:-1]):
        np.testing.assert_allclose(b, t, **TOL)


# ---- MAML-style inner step ------------------------------------------------------------------


def _maml(lib, weights, xs, ys, lr=0.1):
    F_ = lib.nn.functional
    params = _tensors(lib, [a for w, b in weights for a in (w, b)])

    def forward(ps, x):
        h = lib.tensor(x, dtype=lib.float64)
        for k in range(0, len(ps), 2):
            h = F_.linear(h, ps[k], ps[k + 1])
            if k < len(ps) - 2:
                h = lib.sigmoid(h) if k == 0 else lib.tanh(h)
        return h

    def loss_of(ps, x, y):
        return F_.cross_entropy(forward(ps, x), lib.tensor(y))

    inner = loss_of(params, xs[0], ys[0])
    grads = lib.autograd.grad(inner, params, create_graph=True)
    adapted = [p - lr * g for p, g in zip(params, grads)]
    outer = loss_of(adapted, xs[1], ys[1])
    outer.backward()
    return [_np(outer)] + [_np(p.grad) for p in params]


def test_maml_inner_step_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    weights = _mlp_weights(rng, [4, 7, 5, 3])
    xs = [rng.normal(size=(6, 4)), rng.normal(size=(6, 4))]
    ys = [rng.integers(0, 3, size=6), rng.integers(0, 3, size=6)]
    for b, t in zip(_maml(bp, weights, xs, ys), _maml(torch, weights, xs, ys)):
        np.testing.assert_allclose(b, t, **TOL)


# ---- Python Functions -----------------------------------------------------------------------


def _cube_function(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 3 * x**2 * grad

    return Cube


def test_python_function_backward_is_differentiated():
    x = bp.tensor([0.5, -2.0, 1.5], dtype=bp.float64, requires_grad=True)
    y = _cube_function(bp).apply(x).sum()
    (g,) = bp.autograd.grad(y, x, create_graph=True)
    (h,) = bp.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(_np(g), 3 * _np(x) ** 2, **TOL)
    np.testing.assert_allclose(_np(h), 6 * _np(x), **TOL)
    assert bp.autograd.gradgradcheck(_cube_function(bp).apply, [x])


# ---- engine rules -----------------------------------------------------------------------------


def test_backward_create_graph_keeps_graph_in_grad_and_accumulates():
    x = bp.tensor([1.0, 2.0], dtype=bp.float64, requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    np.testing.assert_allclose(_np(x.grad), [3.0, 12.0], **TOL)
    (x**2).sum().backward(create_graph=True)  # accumulates into .grad, still recorded
    g = x.grad
    x.grad = None
    g.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [6.0 + 2.0, 12.0 + 2.0], **TOL)


def test_create_graph_retains_the_graph_by_default():
    x = bp.tensor([0.7], dtype=bp.float64, requires_grad=True)
    y = x.exp().sum()
    (g,) = bp.autograd.grad(y, x, create_graph=True)
    # Goes back through y's ExpBackward node, whose saved output a freed graph would have lost.
    (h,) = bp.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(_np(h), np.exp([0.7]), **TOL)


def test_without_create_graph_gradients_are_constants():
    x = bp.tensor([0.7, 1.1], dtype=bp.float64, requires_grad=True)
    (g,) = bp.autograd.grad((x.tanh() * x).sum(), x)
    assert not g.requires_grad and g.grad_fn is None
    assert bp.is_grad_enabled()


def test_third_derivative_through_saved_outputs():
    x = bp.tensor([0.3, -0.8], dtype=bp.float64, requires_grad=True)
    y = bp.sigmoid(x).sum()
    (d1,) = bp.autograd.grad(y, x, create_graph=True)
    (d2,) = bp.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = bp.autograd.grad(d2.sum(), x)
    s = 1 / (1 + np.exp(-_np(x)))
    np.testing.assert_allclose(_np(d3), s * (1 - s) * (1 - 6 * s + 6 * s * s), **TOL)


def test_double_backward_after_in_place_change_of_a_saved_input_raises():
    x = bp.tensor([0.5, 1.0], dtype=bp.float64, requires_grad=True)
    a = x * 1.0
    y = (a * a * a).sum()  # the gradient 3a^2 goes through the node of a * a, which saved a
    (g,) = bp.autograd.grad(y, x, create_graph=True)
    with bp.no_grad():
        a.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        bp.autograd.grad(g.sum(), x)
