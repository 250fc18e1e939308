"""Second derivatives of every op in the table: gradgradcheck (float64 finite differences of the
first gradient) and torch.autograd.grad(..., create_graph=True) where torch is installed."""

import numpy as np
import pytest

import backprop as bp
import backprop.nn.functional as F
from backprop.autograd import GradcheckError, gradgradcheck


def _extras(lib, ex):
    out = {}
    for k, v in ex.items():
        v = np.asarray(v)
        out[k] = lib.tensor(v, dtype=lib.float64) if v.dtype.kind == "f" else lib.tensor(v)
    return out


def test_gradgradcheck_op(op_case):
    arrays, extras = op_case.arrays(seed=3)
    xs = [bp.tensor(a, dtype=bp.float64, requires_grad=True) for a in arrays]
    ex = _extras(bp, extras)
    assert gradgradcheck(lambda *t: op_case.fn(bp, F, list(t), ex), xs, eps=1e-6, atol=1e-5, rtol=1e-3)


def _second_derivatives(lib, functional, case, arrays, extras):
    """d/d(inputs, v) of sum(w * dL/dx) where dL/dx = v^T J: every input's second-order gradient."""
    xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
    out = case.fn(lib, functional, xs, _extras(lib, extras))
    rng = np.random.default_rng(5)
    v = lib.tensor(rng.normal(size=tuple(out.shape)), dtype=lib.float64, requires_grad=True)
    first = lib.autograd.grad(out, xs, v, create_graph=True, allow_unused=True)
    total = None
    for g in first:
        if g is None or not g.requires_grad:
            continue
        w = lib.tensor(rng.normal(size=tuple(g.shape)), dtype=lib.float64)
        term = (g * w).sum()
        total = term if total is None else total + term
    # torch may hand back an efficient ZeroTensor, which converts only with force=True.
    to_np = (lambda g: g.detach().numpy(force=True)) if lib.__name__ == "torch" else (lambda g: g.detach().numpy())
    firsts = [None if g is None else to_np(g) for g in first]
    if total is None:
        return firsts, [None] * (len(xs) + 1)
    second = lib.autograd.grad(total, xs + [v], allow_unused=True)
    return firsts, [None if g is None else to_np(g) for g in second]


# Ops whose backward torch does not differentiate ("derivative for aten::hardsigmoid_backward is
# not implemented"): their first gradients are still compared, and gradgradcheck above checks their
# second derivatives numerically. Listed ops must keep raising there, so the list cannot go stale.
TORCH_HAS_NO_DOUBLE_BACKWARD = {"hardsigmoid"}


def test_second_derivatives_match_torch(op_case):
    torch = pytest.importorskip("torch")
    arrays, extras = op_case.arrays(seed=7)
    if op_case.name in TORCH_HAS_NO_DOUBLE_BACKWARD:
        with pytest.raises(RuntimeError, match="is not implemented"):
            _second_derivatives(torch, torch.nn.functional, op_case, arrays, extras)
        xs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
        out = op_case.fn(torch, torch.nn.functional, xs, _extras(torch, extras))
        v = np.random.default_rng(5).normal(size=tuple(out.shape))
        t_first = torch.autograd.grad(out, xs, torch.tensor(v), allow_unused=True)
        b_first, _ = _second_derivatives(bp, F, op_case, arrays, extras)
        for b, t in zip(b_first, t_first):
            np.testing.assert_allclose(b, t.numpy(), rtol=1e-9, atol=1e-11, err_msg=f"{op_case.name}: first gradient")
        return
    t_first, t_second = _second_derivatives(torch, torch.nn.functional, op_case, arrays, extras)
    b_first, b_second = _second_derivatives(bp, F, op_case, arrays, extras)
    for i, (b, t) in enumerate(zip(b_first, t_first)):
        assert (b is None) == (t is None), f"{op_case.name}: first gradient {i} presence"
        if t is not None:
            np.testing.assert_allclose(b, t, rtol=1e-9, atol=1e-11, err_msg=f"{op_case.name}: first gradient {i}")
    for i, (b, t) in enumerate(zip(b_second, t_second)):
        # A second derivative that is zero by construction may be None on one side (the graph
        # holds no path) and a zero tensor on the other (torch materializes zeros, e.g. relu).
        if b is None and t is not None:
            b = np.zeros_like(t)
        if t is None and b is not None:
            t = np.zeros_like(b)
        if t is not None:
            np.testing.assert_allclose(b, t, rtol=1e-9, atol=1e-11, err_msg=f"{op_case.name}: second derivative {i}")


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class BadSquare(bp.autograd.Function):
        # First derivative right (2x), but written with a detached x: its own derivative is lost.
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x.detach() + 0 * x

    x = bp.tensor([0.5, -1.5], dtype=bp.float64, requires_grad=True)
    assert bp.autograd.gradcheck(BadSquare.apply, [x])
    with pytest.raises(GradcheckError):
        gradgradcheck(BadSquare.apply, [x])
    assert gradgradcheck(BadSquare.apply, [x], raise_exception=False) is False


def test_gradgradcheck_requires_an_input_with_grad():
    with pytest.raises(ValueError, match="requires grad"):
        gradgradcheck(lambda t: t * t, [bp.ones(2, dtype=bp.float64)])
