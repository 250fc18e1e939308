"""backprop: reverse-mode automatic differentiation with a C++/OpenMP core.

The API follows PyTorch: ``backprop.tensor``, ``Tensor.backward``, ``backprop.no_grad``,
``backprop.nn`` and ``backprop.optim`` behave like their ``torch`` namesakes.
"""

from . import _core
from ._core import (
    Tensor,
    dtype,
    abs,
    add,
    all,
    amax,
    amin,
    any,
    arange,
    argmax,
    argmin,
    cat,
    chunk,
    clamp,
    clip,
    concat,
    cos,
    cpu_capability,
    div,
    eye,
    eq,
    exp,
    flatten,
    from_dlpack,
    from_numpy,
    full,
    gather,
    ge,
    get_num_threads,
    gt,
    index_put,
    index_select,
    initial_seed,
    is_grad_enabled,
    le,
    linspace,
    log,
    logspace,
    log_softmax,
    logical_and,
    logical_not,
    logical_or,
    logsumexp,
    lt,
    manual_seed,
    matmul,
    max,
    maximum,
    mean,
    memory_stats,
    min,
    minimum,
    mm,
    mul,
    narrow,
    ne,
    neg,
    nonzero,
    ones,
    permute,
    pow,
    rand,
    randint,
    randn,
    randperm,
    relu,
    reset_peak_memory_stats,
    reshape,
    seed,
    select,
    set_num_threads,
    sigmoid,
    sin,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    t,
    tanh,
    transpose,
    unbind,
    unsqueeze,
    var,
    where,
    zeros,
)
from ._core import (  # noqa: A004  (round shadows the builtin, as torch.round does)
    arctan2,
    argsort,
    atan2,
    ceil,
    clamp_max,
    clamp_min,
    cumprod,
    cumsum,
    diag,
    diagonal,
    dist,
    einsum,
    erf,
    expm1,
    fix,
    flip,
    fliplr,
    flipud,
    floor,
    ger,
    hypot,
    log1p,
    log2,
    log10,
    masked_fill,
    norm,
    outer,
    reciprocal,
    roll,
    round,
    rsqrt,
    sign,
    sort,
    square,
    tile,
    topk,
    trace,
    tril,
    triu,
    trunc,
)
from . import _tensor  # noqa: F401  (adds the Python-level Tensor methods)
from ._cmake import cmake_prefix_path
from ._creation import (
    empty,
    empty_like,
    full_like,
    ones_like,
    rand_like,
    randint_like,
    randn_like,
    tensor,
    zeros_like,
)
from ._device import accelerator, backends, cuda, device, get_default_device, set_default_device
from ._legacy import BoolTensor, DoubleTensor, FloatTensor, LongTensor
from ._size import Size
from .autograd import enable_grad, no_grad, set_grad_enabled
from .serialization import SerializationError, load, save

float32 = dtype.float32
float64 = dtype.float64
int64 = dtype.int64
bool = dtype.bool  # noqa: A001  (the name PyTorch users write: backprop.bool)
float = float32  # noqa: A001
double = float64
long = int64

from . import autograd, func, nn, optim, utils  # noqa: E402
from . import linalg  # noqa: E402

# The public names: what `from backprop import *` gives, and what type checkers accept as exported
# (mypy --strict sees no name this list omits); tests/test_typing.py fails when one is missing.
__all__ = [
    "abs", "add", "all", "amax", "amin", "any", "arange", "arctan2", "argmax", "argmin", "argsort", "atan2", "bool",
    "BoolTensor", "cat", "ceil", "chunk", "clamp", "clamp_max", "clamp_min", "clip", "cmake_prefix_path", "concat",
    "cos", "cpu_capability", "cumprod", "cumsum", "device", "diag", "diagonal", "dist", "div", "double",
    "DoubleTensor", "dtype", "einsum", "empty", "empty_like", "enable_grad", "eq", "erf", "exp", "expm1", "eye",
    "fix", "flatten", "flip", "fliplr", "flipud", "float", "float32", "float64", "FloatTensor", "floor",
    "from_dlpack", "from_numpy", "full", "full_like", "gather", "ge", "ger", "get_default_device",
    "get_num_threads", "gt", "hypot", "index_put", "index_select", "initial_seed", "int64", "is_grad_enabled", "le",
    "linspace", "load", "log", "log10", "log1p", "log2", "log_softmax", "logical_and", "logical_not", "logical_or",
    "logspace", "logsumexp", "long", "LongTensor", "lt", "manual_seed", "masked_fill", "matmul", "max", "maximum",
    "mean", "memory_stats", "min", "minimum", "mm", "mul", "narrow", "ne", "neg", "no_grad", "nonzero", "norm",
    "ones", "ones_like", "outer", "permute", "pow", "rand", "rand_like", "randint", "randint_like", "randn",
    "randn_like", "randperm", "reciprocal", "relu", "reset_peak_memory_stats", "reshape", "roll", "round", "rsqrt",
    "save", "seed", "select", "SerializationError", "set_default_device", "set_grad_enabled", "set_num_threads",
    "sigmoid", "sign", "sin", "Size", "softmax", "sort", "split", "sqrt", "square", "squeeze", "stack", "std",
    "sub", "sum", "swapaxes", "t", "tanh", "Tensor", "tensor", "tile", "topk", "trace", "transpose", "tril", "triu",
    "trunc", "unbind", "unsqueeze", "var", "where", "zeros", "zeros_like"
]

__version__ = "0.1.0"
