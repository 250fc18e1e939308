"""Every op's backward against central finite differences, in float64 (backprop.autograd.gradcheck)."""

import numpy as np
import pytest

import backprop as bp
import backprop.nn.functional as F
from backprop.autograd import GradcheckError, gradcheck


def _lib_extras(ex):
    out = {}
    for k, v in ex.items():
        v = np.asarray(v)
        out[k] = bp.tensor(v, dtype=bp.float64) if v.dtype.kind == "f" else bp.tensor(v)
    return out


def test_gradcheck_op(op_case):
    arrays, extras = op_case.arrays(seed=3)
    xs = [bp.tensor(a, dtype=bp.float64, requires_grad=True) for a in arrays]
    ex = _lib_extras(extras)
    assert gradcheck(lambda *t: op_case.fn(bp, F, list(t), ex), xs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_gradcheck_catches_a_wrong_gradient():
    x = bp.tensor([0.5, 1.5, -2.0], dtype=bp.float64, requires_grad=True)

    def wrong(t):
        # Forward is t**2, but the hook doubles the gradient: the Jacobians must disagree.
        y = t * t
        if y.requires_grad:  # gradcheck's perturbed forwards run under no_grad
            y.register_hook(lambda g: g * 2)
        return y

    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        gradcheck(wrong, [x])
    assert gradcheck(wrong, [x], raise_exception=False) is False


def test_gradcheck_requires_an_input_with_grad():
    with pytest.raises(ValueError, match="requires grad"):
        gradcheck(lambda t: t * 2, [bp.ones(2, dtype=bp.float64)])


def test_gradcheck_mixed_inputs_only_checks_those_requiring_grad():
    a = bp.tensor([1.0, 2.0], dtype=bp.float64, requires_grad=True)
    b = bp.tensor([3.0, -1.0], dtype=bp.float64)
    assert gradcheck(lambda x, y: (x * y).exp(), [a, b])


def test_gradcheck_float32_inputs_are_checked_in_float64():
    x = bp.tensor([0.3, -0.7], requires_grad=True)  # float32
    assert gradcheck(lambda t: t.sigmoid() * t, [x])
