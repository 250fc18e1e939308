"""nn.utils.clip_grad_norm_ / clip_grad_value_: the Python wrappers over the C++ pass, against PyTorch."""

import math

import numpy as np
import pytest

import backprop as bp
from backprop.nn.utils import clip_grad_norm_, clip_grad_value_


def _pair(shapes, scale, dtype, seed=0, with_grad=None):
    """The same parameters and gradients in both libraries; with_grad[i] False leaves grad unset."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for i, shape in enumerate(shapes):
        value = rng.standard_normal(shape).astype(dtype)
        grad = (rng.standard_normal(shape) * scale).astype(dtype)
        p, tp = bp.tensor(value, requires_grad=True), torch.tensor(value, requires_grad=True)
        if with_grad is None or with_grad[i]:
            p.grad, tp.grad = bp.tensor(grad), torch.tensor(grad)
        ours.append(p)
        theirs.append(tp)
    return ours, theirs


def _assert_grads_equal(ours, theirs, rtol):
    for p, tp in zip(ours, theirs):
        if tp.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, dtype, rtol, max_norm):
    torch = pytest.importorskip("torch")
    ours, theirs = _pair([(3, 4), (4,), (2, 2, 2)], 2.0, dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert isinstance(total, bp.Tensor) and total.shape == ()
    assert total.dtype == (bp.float32 if dtype == np.float32 else bp.float64)
    assert total.item() == pytest.approx(ttotal.item(), rel=rtol)
    _assert_grads_equal(ours, theirs, rtol)


def test_accepts_a_single_tensor_and_a_generator_and_skips_missing_grads():
    torch = pytest.importorskip("torch")
    ours, theirs = _pair([(5,), (3, 3), (2,)], 3.0, np.float64, seed=1, with_grad=[True, False, True])
    total = clip_grad_norm_(iter(ours), 1.0)  # a generator, like model.parameters()
    ttotal = torch.nn.utils.clip_grad_norm_(iter(theirs), 1.0)
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-12)
    _assert_grads_equal(ours, theirs, 1e-12)

    single, tsingle = _pair([(6,)], 5.0, np.float64, seed=2)
    total = clip_grad_norm_(single[0], 0.1)
    ttotal = torch.nn.utils.clip_grad_norm_(tsingle[0], 0.1)
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-12)
    _assert_grads_equal(single, tsingle, 1e-12)


def test_no_gradients_gives_zero():
    torch = pytest.importorskip("torch")
    p = bp.zeros(3, requires_grad=True)
    total = clip_grad_norm_([p], 1.0)
    assert total.item() == torch.nn.utils.clip_grad_norm_([torch.zeros(3, requires_grad=True)], 1.0).item() == 0.0
    assert p.grad is None
    assert clip_grad_norm_([], 1.0).item() == 0.0


def test_nonfinite_norm():
    p = bp.zeros(2, requires_grad=True)
    p.grad = bp.tensor([1.0, float("inf")])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_(p, 1.0).item())


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _pair([(4, 5), (7,), (3,)], 1.0, np.float32, seed=3, with_grad=[True, True, False])
    assert clip_grad_value_(ours, 0.3) is None
    assert torch.nn.utils.clip_grad_value_(theirs, 0.3) is None
    _assert_grads_equal(ours, theirs, 0)
    single, tsingle = _pair([(9,)], 1.0, np.float64, seed=4)
    clip_grad_value_(single[0], 0.5)
    torch.nn.utils.clip_grad_value_(tsingle[0], 0.5)
    _assert_grads_equal(single, tsingle, 0)


def test_clipping_inside_a_training_step():
    bp.manual_seed(0)
    model = bp.nn.Sequential(bp.nn.Linear(4, 8), bp.nn.Tanh(), bp.nn.Linear(8, 1))
    (model(bp.randn(16, 4) * 100) ** 2).sum().backward()
    before = clip_grad_norm_(model.parameters(), 1.0)
    assert before.item() > 1.0
    after = math.sqrt(sum((p.grad * p.grad).sum().item() for p in model.parameters()))
    assert after == pytest.approx(1.0, rel=1e-4)


def test_bad_arguments():
    with pytest.raises(TypeError, match="element 1"):
        clip_grad_norm_([bp.zeros(1, requires_grad=True), 3.0], 1.0)
