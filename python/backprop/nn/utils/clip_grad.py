"""Gradient clipping; the arithmetic runs in C++ (optim::clip_grad_norm_)."""

from ... import _core
from ..._core import Tensor


def _params(parameters):
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scales the gradients so their joint norm is at most max_norm; returns the norm before."""
    params = _params(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = _core.clip_grad_norm_(params, float(max_norm), float(norm_type), error_if_nonfinite)
    dtype = grads[0].dtype if grads else _core.dtype.float32
    return _core.full([], total, dtype=dtype)


def clip_grad_value_(parameters, clip_value):
    """Clamps every gradient element to [-clip_value, clip_value]."""
    _core.clip_grad_value_(_params(parameters), float(clip_value))
