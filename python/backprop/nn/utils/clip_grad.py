"""Gradient clipping (torch.nn.utils); the arithmetic runs in C++ (optim::clip_grad_norm_)."""

from ... import _core
from ..._core import Tensor


def _params(parameters):
    """A single tensor or any iterable of tensors (a generator such as model.parameters() too)."""
    if isinstance(parameters, Tensor):
        return [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"expected an iterable of Tensors, but element {i} is {type(p).__name__}")
    return params


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scales the gradients in place so that their joint `norm_type` norm is at most max_norm.

    Parameters without a gradient are skipped. Returns the total norm before clipping, as a 0-d
    tensor in the gradients' dtype (0 when no parameter has a gradient). `foreach` is accepted for
    PyTorch compatibility; the C++ pass is always fused.
    """
    params = _params(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = _core.clip_grad_norm_(params, float(max_norm), float(norm_type), bool(error_if_nonfinite))
    dtype = grads[0].dtype if grads else _core.dtype.float32
    return _core.full([], total, dtype=dtype)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamps every gradient element to [-clip_value, clip_value] in place; parameters without a
    gradient are skipped."""
    _core.clip_grad_value_(_params(parameters), float(clip_value))
