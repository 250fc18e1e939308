"""backprop.func against torch.func: several arguments, pytrees, has_aux, nested transforms."""

import numpy as np
import pytest

import backprop as bp
import backprop.func as bf

torch = pytest.importorskip("torch")
tf = torch.func

A = np.array([[0.3, -1.2, 0.7], [1.1, 0.4, -0.5]])
B = np.array([0.2, -0.8, 1.5])


def pair(a):
    return bp.tensor(a, dtype=bp.float64), torch.tensor(a, dtype=torch.float64)


def close(ours, theirs, tol=1e-10):
    """Same pytree structure and values."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and sorted(ours) == sorted(theirs)
        for k in theirs:
            close(ours[k], theirs[k], tol)
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs), (type(ours), type(theirs))
        for a, b in zip(ours, theirs):
            close(a, b, tol)
    elif isinstance(theirs, torch.Tensor):
        assert isinstance(ours, bp.Tensor) and tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)
    else:
        assert ours == theirs


def f2(lib):
    def f(x, w):
        return (lib.tanh(w @ x) * lib.sin(x[:2])).sum() + (x * x).sum()
    return f


def test_grad_over_several_arguments_and_argnums():
    (x, tx), (w, tw) = pair(B), pair(A)
    close(bf.grad(f2(bp))(x, w), tf.grad(f2(torch))(tx, tw))
    close(bf.grad(f2(bp), argnums=1)(x, w), tf.grad(f2(torch), argnums=1)(tx, tw))
    close(bf.grad(f2(bp), argnums=(0, 1))(x, w), tf.grad(f2(torch), argnums=(0, 1))(tx, tw))
    g = bf.grad(f2(bp))(x, w)
    assert not g.requires_grad and not x.requires_grad  # top-level results hold no graph


def test_grad_of_pytrees_and_has_aux():
    def f(lib):
        def fn(params, scale):
            h = lib.tanh(params["w"] @ params["b"][0]) * scale
            return (h * params["b"][1]).sum(), {"h": h}
        return fn

    (w, tw), (b0, tb0) = pair(A), pair(B)
    (b1, tb1), (s, ts) = pair(B[:2] * 2), pair(np.array(1.5))
    ours = bf.grad(f(bp), has_aux=True)({"w": w, "b": (b0, b1)}, s)
    theirs = tf.grad(f(torch), has_aux=True)({"w": tw, "b": (tb0, tb1)}, ts)
    close(ours, theirs)
    ours = bf.grad_and_value(f(bp), argnums=(0, 1), has_aux=True)({"w": w, "b": (b0, b1)}, s)
    theirs = tf.grad_and_value(f(torch), argnums=(0, 1), has_aux=True)({"w": tw, "b": (tb0, tb1)}, ts)
    close(ours, theirs)


def test_vjp_with_tuple_outputs_called_twice():
    def f(lib):
        return lambda x, w: (w @ x, lib.exp(x).sum())

    (x, tx), (w, tw) = pair(B), pair(A)
    out, fn = bf.vjp(f(bp), x, w)
    tout, tfn = tf.vjp(f(torch), tx, tw)
    close(out, tout)
    for ct in ([1.0, -2.0], [0.5, 0.25]):
        (c, tc), (d, td) = pair(np.array(ct)), pair(np.array(3.0))
        close(fn((c, d)), tfn((tc, td)))


def test_jacrev_shapes_for_several_inputs_and_outputs():
    def f(lib):
        return lambda x, w: (lib.sin(w @ x), (w * w).sum(0) * x)

    (x, tx), (w, tw) = pair(B), pair(A)
    close(bf.jacrev(f(bp))(x, w), tf.jacrev(f(torch))(tx, tw))
    close(bf.jacrev(f(bp), argnums=(0, 1))(x, w), tf.jacrev(f(torch), argnums=(0, 1))(tx, tw))


def test_functional_call_differentiates_a_module_by_its_parameter_dict():
    bp.manual_seed(0)
    net = bp.nn.Sequential(bp.nn.Linear(3, 4), bp.nn.Tanh(), bp.nn.Linear(4, 2)).double()
    tnet = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    with torch.no_grad():
        for (_, p), (_, tp) in zip(net.named_parameters(), tnet.named_parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy().copy()))
    (x, tx) = pair(A)
    params = {k: v.detach() for k, v in net.named_parameters()}
    tparams = {k: v.detach() for k, v in tnet.named_parameters()}

    def loss(lib, module):
        return lambda p, x: (lib.func.functional_call(module, p, (x,)) ** 2).sum()

    close(bf.grad(loss(bp, net))(params, x), tf.grad(loss(torch, tnet))(tparams, tx))
    # The module is restored: its own parameters again, and the same objects.
    assert all(p.requires_grad for p in net.parameters())
    doubled = {k: v * 2 for k, v in params.items()}
    out = bf.functional_call(net, doubled, x)
    tout = tf.functional_call(tnet, {k: v * 2 for k, v in tparams.items()}, tx)
    close(out, tout)
    with pytest.raises(ValueError, match="not parameters or buffers"):
        bf.functional_call(net, {"nope": x}, x)


def test_misuse_is_explained():
    x, _ = pair(B)
    with pytest.raises(RuntimeError, match="single element"):
        bf.grad(lambda x: x * 2)(x)
    with pytest.raises(RuntimeError, match="out of range"):
        bf.grad(lambda x: x.sum(), argnums=2)(x)
    with pytest.raises(RuntimeError, match=r"\(output, aux\)"):
        bf.grad(lambda x: x.sum(), has_aux=True)(x)
    with pytest.raises(TypeError, match="floating point"):
        bf.grad(lambda x: x.sum())(bp.tensor([1, 2]))


# ---- transforms that need create_graph (higher-order gradients) ----------------------------------


def test_grad_of_grad():
    (x, tx) = pair(np.array(0.7))

    def f(lib):
        return lambda x: lib.sin(x) * x ** 3

    close(bf.grad(bf.grad(f(bp)))(x), tf.grad(tf.grad(f(torch)))(tx))
    close(bf.grad(bf.grad(bf.grad(f(bp))))(x), tf.grad(tf.grad(tf.grad(f(torch))))(tx))


def test_jvp_and_jacfwd_agree_with_torch():
    def f(lib):
        return lambda x, w: (lib.tanh(w @ x), (x * x).sum())

    (x, tx), (w, tw) = pair(B), pair(A)
    (t1, tt1), (t2, tt2) = pair(B[::-1].copy()), pair(A * 0.5)
    close(bf.jvp(f(bp), (x, w), (t1, t2)), tf.jvp(f(torch), (tx, tw), (tt1, tt2)))
    close(bf.jacfwd(f(bp), argnums=(0, 1))(x, w), tf.jacfwd(f(torch), argnums=(0, 1))(tx, tw))


def test_hessian_and_jacfwd_of_jacrev():
    def f(lib):
        return lambda x, w: (lib.tanh(w @ x) ** 2).sum() + (lib.exp(x) * x).sum()

    (x, tx), (w, tw) = pair(B), pair(A)
    close(bf.hessian(f(bp))(x, w), tf.hessian(f(torch))(tx, tw))
    close(bf.jacfwd(bf.jacrev(f(bp), argnums=1), argnums=0)(x, w),
          tf.jacfwd(tf.jacrev(f(torch), argnums=1), argnums=0)(tx, tw))


def test_jacrev_and_hessian_of_dict_inputs_with_aux():
    def f(lib):
        def fn(p):
            y = lib.tanh(p["w"] @ p["x"])
            return y * y.sum(), y.detach()
        return fn

    (x, tx), (w, tw) = pair(B), pair(A)
    close(bf.jacrev(f(bp), has_aux=True)({"x": x, "w": w}), tf.jacrev(f(torch), has_aux=True)({"x": tx, "w": tw}))

    def g(lib):
        return lambda p: (lib.sin(p["w"] @ p["x"]) ** 2).sum()

    close(bf.hessian(g(bp))({"x": x, "w": w}), tf.hessian(g(torch))({"x": tx, "w": tw}))


def test_results_stay_differentiable_for_inputs_that_require_grad():
    def run(lib, func):
        x = lib.tensor(B, dtype=lib.float64, requires_grad=True)
        g = func.grad(lambda x: (lib.sin(x) * x).sum())(x)
        (g * g).sum().backward()
        return g, x.grad

    close(run(bp, bf), run(torch, tf))


def test_vjp_inside_grad():
    def h(lib, func):
        def fn(x):
            out, pull = func.vjp(lambda y: lib.exp(y) * x, x)
            (g,) = pull(lib.ones_like(out))
            return g.sum()
        return fn

    (x, tx) = pair(B)
    close(bf.grad(h(bp, bf))(x), tf.grad(h(torch, tf))(tx))
