"""PyTorch's typed legacy constructors: FloatTensor, DoubleTensor, LongTensor, BoolTensor.

Each makes a plain Tensor of its dtype (``FloatTensor([1, 2])`` copies data, ``FloatTensor(2, 3)``
is uninitialised) and answers ``isinstance(x, FloatTensor)`` by dtype, as PyTorch does;
``x.type(FloatTensor)`` converts.
"""

from . import _core
from ._core import Tensor
from ._creation import tensor
from ._size import Size


class _TypedTensorMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __repr__(cls):
        return f"<class 'backprop.{cls.__name__}'>"


def _typed(name, dtype):
    def __new__(cls, *args, device=None):
        if not args:
            return _core.empty(0, dtype=dtype, device=device)
        first = args[0]
        if len(args) == 1 and isinstance(first, Tensor):
            return first.to(dtype)
        if len(args) == 1 and not isinstance(first, (int, Size)):
            # Data: converted straight to the dtype (through float32 a LongTensor would lose digits).
            return tensor(first, dtype=dtype, device=device)
        return _core.empty(*args, dtype=dtype, device=device)

    return _TypedTensorMeta(name, (), {"__new__": __new__, "dtype": dtype, "__module__": "backprop",
                                       "__doc__": f"Legacy constructor of {dtype} tensors."})


FloatTensor = _typed("FloatTensor", _core.dtype.float32)
DoubleTensor = _typed("DoubleTensor", _core.dtype.float64)
LongTensor = _typed("LongTensor", _core.dtype.int64)
BoolTensor = _typed("BoolTensor", _core.dtype.bool)

_BY_DTYPE = {cls.dtype: cls for cls in (FloatTensor, DoubleTensor, LongTensor, BoolTensor)}
_BY_NAME = {f"{prefix}.{cls.__name__}": cls for cls in _BY_DTYPE.values() for prefix in ("backprop", "torch")}


def type_name(dtype):
    """'backprop.FloatTensor' for float32, as x.type() reports it."""
    return f"backprop.{_BY_DTYPE[dtype].__name__}"


def dtype_of(t):
    """The dtype that `t`, an argument of x.type(...), names: a legacy class or its name, or a dtype."""
    if isinstance(t, _TypedTensorMeta):
        return t.dtype
    if isinstance(t, str) and t in _BY_NAME:
        return _BY_NAME[t].dtype
    return t
