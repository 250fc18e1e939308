"""Tensor methods written in Python: printing and conversions that lean on NumPy."""

import numpy as np

from ._core import Tensor
from .utils.hooks import HookDict, RemovableHandle


def _values(t):
    return t.detach().numpy()


def _repr(self):
    arr = _values(self)
    body = np.array2string(arr, separator=", ", prefix="tensor(", threshold=1000, edgeitems=3, precision=4)
    parts = [body, f"dtype={self.dtype}"]
    if self.grad_fn is not None:
        parts.append(f"grad_fn=<{self.grad_fn.name()}>")
    elif self.requires_grad:
        parts.append("requires_grad=True")
    return "tensor(" + ", ".join(parts) + ")"


def _array(self, dtype=None, copy=None):
    arr = self.numpy()  # raises for a tensor that requires grad, as PyTorch does
    if dtype is not None and np.dtype(dtype) != arr.dtype:
        if copy is False:
            raise ValueError(f"__array__: converting {self.dtype} to {np.dtype(dtype)} requires a copy")
        return arr.astype(dtype)
    if copy:
        return arr.copy()
    return arr


def _tolist(self):
    return _values(self).tolist()


def _iter(self):
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    # One Unbind node for all rows: backward costs one pass, not one full-size gradient per row.
    return iter(self.unbind(0))


def _format(self, spec):
    if self.ndim == 0:
        return format(self.item(), spec)
    return format(repr(self), spec)


def _deepcopy(self, memo):
    if id(self) in memo:
        return memo[id(self)]
    data = self.detach().clone()
    if type(self) is Tensor:
        out = data.requires_grad_(self.requires_grad) if self.is_floating_point() else data
    else:  # nn.Parameter and other subclasses that take (data, requires_grad)
        out = type(self)(data, requires_grad=self.requires_grad)
    if self.grad is not None:
        out.grad = self.grad.clone()
    memo[id(self)] = out
    return out


Tensor.__repr__ = _repr
Tensor.__deepcopy__ = _deepcopy
Tensor.__str__ = _repr
Tensor.__array__ = _array
Tensor.__array_priority__ = 1000  # NumPy defers binary operators to Tensor
Tensor.tolist = _tolist
Tensor.__iter__ = _iter
Tensor.__format__ = _format


# ---- device, Size and the legacy type() ----------------------------------------------------------
# Defined here rather than in the bindings: device and Size are Python classes of the package,
# and the core never imports its package.

from . import _device, _legacy  # noqa: E402
from ._size import Size  # noqa: E402

_shape = Tensor.shape.fget
_size = Tensor.size
_new_size = tuple.__new__


def _shape_property(self):
    return _new_size(Size, _shape(self))


def _size_method(self, dim=None):
    """The shape as a Size, or the size of dimension `dim` (negative counts from the end)."""
    if dim is None:
        return _new_size(Size, _shape(self))
    return _size(self, dim)


def _device_property(self):
    return _device._CPU


def _type(self, dtype=None, non_blocking=False, **kwargs):
    """With no argument, the legacy type name ('backprop.FloatTensor'); otherwise a conversion to
    `dtype`, given as a dtype, a legacy class (backprop.FloatTensor) or its name."""
    if dtype is None:
        return _legacy.type_name(self.dtype)
    return self.to(_legacy.dtype_of(dtype), non_blocking=non_blocking, **kwargs)


Tensor.shape = property(_shape_property, doc="The shape, a backprop.Size.")
Tensor.size = _size_method
Tensor.device = property(_device_property, doc="Always backprop.device('cpu'): backprop runs on the CPU only.")
Tensor.type = _type


_register_hook_in_core = Tensor.register_hook


def _register_hook(self, hook):
    """Runs `hook(grad)` on this tensor's gradient whenever it is computed; the hook may return a
    replacement. Returns a handle whose remove() takes the hook off, as PyTorch's."""
    hooks = HookDict()
    handle = RemovableHandle(hooks)
    key = handle.id
    hooks[key] = hook

    def run(grad):
        fn = hooks.get(key)
        return None if fn is None else fn(grad)

    _register_hook_in_core(self, run)
    return handle


Tensor.register_hook = _register_hook
