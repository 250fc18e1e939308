"""Tensor factories that take Python data (nested lists, NumPy arrays, scalars)."""

import builtins

import numpy as np

from . import _core, _device
from ._core import Tensor

_NUMPY_TO_NAME = {"f": None, "i": "int64", "u": "int64", "b": "bool"}


def _infer_numpy_dtype(data, arr):
    """The dtype PyTorch would pick: NumPy float64 stays float64, Python floats become float32."""
    kind = arr.dtype.kind
    if kind == "f":
        from_numpy = isinstance(data, (np.ndarray, np.generic))
        if from_numpy and arr.dtype == np.float64:
            return np.float64
        return np.float32
    if kind in "iu":
        return np.int64
    if kind == "b":
        return np.bool_
    raise TypeError(
        f"tensor: can't convert data of NumPy dtype {arr.dtype} (kind '{kind}'); "
        "use numbers, bools or float/int arrays"
    )


_NAMES = {
    _core.dtype.float32: np.float32,
    _core.dtype.float64: np.float64,
    _core.dtype.int64: np.int64,
    _core.dtype.bool: np.bool_,
}


def _numpy_dtype(dtype):
    if isinstance(dtype, _core.dtype):
        return _NAMES[dtype]
    if dtype is builtins.float:
        return np.float64
    if dtype is builtins.int:
        return np.int64
    if dtype is builtins.bool:
        return np.bool_
    if isinstance(dtype, str):
        # The names the core's dtype argument takes; NumPy's own aliases ("f", "a") are not dtypes here.
        np_type = _STRING_DTYPES.get(dtype)
        if np_type is None:
            raise TypeError(f"tensor: unsupported dtype {dtype!r}; backprop supports float32, float64, int64 and bool")
        return np_type
    try:
        name = np.dtype(dtype).name
    except (TypeError, ValueError):
        raise TypeError(
            f"tensor: dtype must be a backprop dtype such as backprop.float32, got {type(dtype).__name__}"
        ) from None
    for d, np_type in _NAMES.items():
        if np.dtype(np_type).name == name:
            return np_type
    raise TypeError(f"tensor: unsupported dtype {dtype!r}; backprop supports float32, float64, int64 and bool")


_STRING_DTYPES = {"float32": np.float32, "float": np.float32, "float64": np.float64, "double": np.float64,
                  "int64": np.int64, "long": np.int64, "bool": np.bool_}


def _check_python_ints_fit(data):
    """NumPy turns a list holding an int beyond int64 into floats; PyTorch raises instead."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and not -(2**63) <= item < 2**63:
            raise OverflowError(f"tensor: overflow: the integer {item} does not fit in int64")


def tensor(data, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new tensor holding a copy of `data` (a number, nested sequence, NumPy array or Tensor)."""
    _device.check(device, "tensor")
    if isinstance(data, Tensor):
        out = data.detach().clone()
        if dtype is not None:
            out = out.to(dtype)
    else:
        arr = np.asarray(data)
        if arr.dtype == object:
            raise TypeError("tensor: could not convert the data to a numeric array; check for ragged nested lists")
        np_dtype = _infer_numpy_dtype(data, arr) if dtype is None else _numpy_dtype(dtype)
        if arr.dtype.kind == "f" and not isinstance(data, np.ndarray) and arr.size and np.abs(arr).max() >= 2.0**63:
            _check_python_ints_fit(data)
        if arr.dtype.kind == "u" and np_dtype == np.int64 and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise OverflowError(
                f"tensor: the value {int(arr.max())} does not fit in int64 (backprop has no unsigned 64-bit dtype)"
            )
        # np.asarray keeps 0-d data 0-d (np.ascontiguousarray would make it 1-d).
        arr = np.asarray(arr, dtype=np_dtype, order="C")
        out = _core.from_numpy(arr).clone()
    if requires_grad:
        out.requires_grad_(True)
    return out


# The core turns lists and arrays met as operands or indices into tensors with this function:
# registered here rather than imported by _core, which must not call back into its package.
_core._set_tensor_converter(tensor)


def empty(*size, dtype=None, requires_grad=False, device=None, **kwargs):
    return _core.empty(*size, dtype=dtype, requires_grad=requires_grad, device=device, **kwargs)


def _like(kind, input, dtype, requires_grad, device, memory_format, **extra):
    if not isinstance(input, Tensor):
        raise TypeError(f"{kind}_like(): argument 'input' must be a Tensor, not {type(input).__name__}")
    _device.check(device, f"{kind}_like")
    return _core._like(input, kind, dtype=dtype, requires_grad=requires_grad, **extra)


def zeros_like(input, *, dtype=None, requires_grad=False, device=None, memory_format=None, layout=None):
    return _like("zeros", input, dtype, requires_grad, device, memory_format)


def ones_like(input, *, dtype=None, requires_grad=False, device=None, memory_format=None, layout=None):
    return _like("ones", input, dtype, requires_grad, device, memory_format)


def empty_like(input, *, dtype=None, requires_grad=False, device=None, memory_format=None, layout=None):
    return _like("empty", input, dtype, requires_grad, device, memory_format)


def full_like(input, fill_value, *, dtype=None, requires_grad=False, device=None, memory_format=None, layout=None):
    return _like("full", input, dtype, requires_grad, device, memory_format, value=fill_value)


def rand_like(input, *, dtype=None, requires_grad=False, device=None, memory_format=None, layout=None):
    return _like("rand", input, dtype, requires_grad, device, memory_format)


def randn_like(input, *, dtype=None, requires_grad=False, device=None, memory_format=None, layout=None):
    return _like("randn", input, dtype, requires_grad, device, memory_format)


def randint_like(input, low=0, high=None, *, dtype=None, requires_grad=False, device=None, memory_format=None,
                 layout=None):
    """Integers in [low, high) with input's shape; randint_like(x, high) draws from [0, high)."""
    if high is None:
        low, high = 0, low
    return _like("randint", input, dtype, requires_grad, device, memory_format, low=low, high=high)
