"""Tensor + number and tensor * number take a fast path that keeps the number as a double. It
must give exactly what the generic path (number wrapped in a 0-d tensor) gives: values, dtypes,
gradients, and the generic path's handling of everything else."""
import math

import numpy as np
import pytest

import backprop as bp



NUMBERS = [1.001, 0.1, -3, 0, 2**40 + 1, 1e-45, float("inf"), float("nan"), 7]
DTYPES = [bp.float32, bp.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("op", ["add", "radd", "mul", "rmul"])
def test_matches_the_generic_path(dtype, number, op):
    data = [[0.5, -1.25, 3.0], [1e30, -0.0, 7.1]]
    x = bp.tensor(data, dtype=dtype, requires_grad=True)
    x0 = bp.tensor(data, dtype=dtype, requires_grad=True)
    s = bp.full([], number, dtype=dtype)  # the 0-d tensor the generic path would make
    fast = {"add": lambda: x + number, "radd": lambda: number + x,
            "mul": lambda: x * number, "rmul": lambda: number * x}[op]()
    ref = {"add": lambda: x0 + s, "radd": lambda: s + x0,
           "mul": lambda: x0 * s, "rmul": lambda: s * x0}[op]()
    assert fast.dtype == ref.dtype == dtype
    assert fast.shape == ref.shape
    np.testing.assert_array_equal(fast.detach().numpy(), ref.detach().numpy())
    assert type(fast.grad_fn).__name__ == type(ref.grad_fn).__name__
    w = bp.tensor([[1.0, 2.0, -3.0], [0.5, 0.25, 4.0]], dtype=dtype)
    (fast * w).sum().backward()
    (ref * w).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), x0.grad.numpy())


def test_zero_dim_and_strided_operands():
    x = bp.tensor(2.0, requires_grad=True)
    y = x * 3
    assert y.shape == () and y.item() == 6.0
    y.backward()
    assert x.grad.item() == 3.0
    m = bp.tensor([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal((m.t() * 2.0).numpy(), m.numpy().T * 2.0)
    np.testing.assert_array_equal((m.t() + 2.0).numpy(), m.numpy().T + 2.0)


def test_other_operands_keep_the_generic_rules():
    i = bp.tensor([1, 2])
    assert (i * 2).dtype == bp.int64 and (i * 2).tolist() == [2, 4]
    assert (i * 2.5).dtype == bp.float32 and (i * 2.5).tolist() == [2.5, 5.0]
    assert (i + True).tolist() == [2, 3]
    x = bp.tensor([0.5])
    assert (x * True).tolist() == [0.5]
    assert (x * np.float64(2.0)).tolist() == [1.0]
    with pytest.raises(OverflowError):
        x * (10 ** 400)
    with pytest.raises(TypeError, match="mul"):
        x * "a"


def test_no_grad_records_nothing():
    x = bp.tensor([1.0], requires_grad=True)
    with bp.no_grad():
        y = x * 2.0 + 1
    assert y.grad_fn is None and not y.requires_grad


def test_in_place_change_after_use_is_not_an_error():
    # Nothing but the number is kept by x * s; changing x afterwards must not break backward.
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1.0
    y = h * 4.0
    h.data.mul_(0)  # untracked change of the input of the scalar mul
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])


def test_matches_torch_on_the_chain():
    torch = pytest.importorskip("torch")
    x = bp.tensor([0.5, -0.3, 2.0], requires_grad=True)
    t = torch.tensor([0.5, -0.3, 2.0], requires_grad=True)
    y, u = x, t
    for _ in range(50):
        y = (y * 1.001 + 0.1).relu()
        u = (u * 1.001 + 0.1).relu()
    y.sum().backward()
    u.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), u.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6)
    assert math.isfinite(float(x.grad.numpy()[0]))
