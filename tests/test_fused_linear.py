"""The fused linear + activation op equals the unfused composition, forward and backward."""

import numpy as np
import pytest

import backprop as bp
from backprop.autograd import gradcheck

F = bp.nn.functional
ACTIVATIONS = ["relu", "tanh", "sigmoid"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("x_shape", [(5, 4), (2, 3, 4), (4,)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_gradcheck(activation, x_shape, with_bias):
    bp.manual_seed(1)
    x = bp.randn(*x_shape, dtype=bp.float64, requires_grad=True)
    w = bp.randn(3, 4, dtype=bp.float64, requires_grad=True)
    b = bp.randn(3, dtype=bp.float64, requires_grad=True) if with_bias else None
    inputs = (x, w, b) if with_bias else (x, w)
    assert gradcheck(lambda *a: bp._core._linear_activation(a[0], a[1], a[2] if with_bias else None, activation),
                     inputs)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_matches_unfused(activation):
    bp.manual_seed(2)
    x = bp.randn(64, 30, requires_grad=True)
    w = bp.randn(20, 30, requires_grad=True)
    b = bp.randn(20, requires_grad=True)
    fused = bp._core._linear_activation(x, w, b, activation)
    fused.sum().backward()
    grads = [t.grad.numpy().copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    plain = getattr(bp, activation)(F.linear(x, w, b))
    plain.sum().backward()
    np.testing.assert_allclose(fused.detach().numpy(), plain.detach().numpy(), rtol=1e-6, atol=1e-6)
    for g, t in zip(grads, (x, w, b)):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"\[5, 4\]"):
        bp._core._linear_activation(bp.randn(5, 4), bp.randn(3, 5), None, "relu")
    with pytest.raises(ValueError, match="activation must be"):
        bp._core._linear_activation(bp.randn(5, 4), bp.randn(3, 4), None, "swish")
