"""Devices as PyTorch spells them, for a library that runs on the CPU only.

``backprop.device("cpu")``, ``"cpu:0"`` and ``device("cpu", 0)`` are accepted wherever a device is
taken; ``device("cuda")`` can be made (so that ``device("cuda" if cuda.is_available() else "cpu")``
runs) but any use of it raises a TypeError that says backprop is CPU-only. ``backprop.cuda``,
``backprop.backends.mps`` and ``backprop.accelerator`` answer as PyTorch does on a machine
without accelerators.
"""

import sys
import types

_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "vulkan", "ipu", "hpu", "mtia", "privateuseone")


class device:
    """A device: its ``type`` ("cpu") and ``index`` (None, or the number after the colon)."""

    __slots__ = ("_type", "_index")

    def __init__(self, type, index=None):  # noqa: A002  (PyTorch's parameter name)
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device object")
            self._type, self._index = type._type, type._index
            return
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string such as 'cpu' or 'cpu:0', got {_name(type)}")
        kind, sep, number = type.partition(":")
        if kind not in _TYPES:
            raise ValueError(f"device(): '{type}' is not a device; expected one of {', '.join(_TYPES)} "
                             "(backprop itself runs on 'cpu' only)")
        parsed = None
        if sep:
            if not number.isdigit():
                raise ValueError(f"device(): invalid device string '{type}'; expected e.g. 'cpu' or 'cpu:0'")
            parsed = int(number)
        if index is not None:
            if parsed is not None:
                raise ValueError(f"device(): '{type}' already has an index; pass device('{kind}', {index}) "
                                 "or the string alone")
            if isinstance(index, bool) or not isinstance(index, int):
                raise TypeError(f"device(): index must be an int, got {_name(index)}")
            if index < 0:
                raise ValueError(f"device(): index must be non-negative, got {index}")
            parsed = index
        self._type, self._index = kind, parsed

    @property
    def type(self):
        return self._type

    @property
    def index(self):
        return self._index

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self):
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __eq__(self, other):
        if not isinstance(other, device):
            return NotImplemented
        return self._type == other._type and self._index == other._index

    def __hash__(self):
        return hash((self._type, self._index))

    def __reduce__(self):
        return (device, (self._type, self._index))

    # `with backprop.device("cpu"):` makes CPU tensors, which is what everything makes.
    def __enter__(self):
        check(self, "device")
        return self

    def __exit__(self, *exc):
        return False


def _name(x):
    return type(x).__name__


def check(dev, op):
    """Raises unless `dev` is None or the CPU in some spelling; returns device('cpu')."""
    if dev is None:
        return _CPU
    if isinstance(dev, device):
        d = dev
    elif isinstance(dev, str):
        d = device(dev)
    elif isinstance(dev, int) and not isinstance(dev, bool):
        raise TypeError(f"{op}: backprop runs on the CPU only; device={dev} names CUDA device {dev}. "
                        "Use device='cpu' or leave it out")
    else:
        raise TypeError(f"{op}: device must be a string such as 'cpu' or a backprop.device, got {_name(dev)}")
    if d.type != "cpu":
        raise TypeError(f"{op}: backprop runs on the CPU only; device '{d}' is not available (there is no CUDA, "
                        "MPS or other accelerator support). Use device='cpu' or leave it out")
    return d


_CPU = device("cpu")


def get_default_device():
    return _CPU


def set_default_device(dev):
    """Only the CPU can be the default device; None restores it, as in PyTorch."""
    check(dev, "set_default_device")


def _cpu_only(op):
    def unavailable(*args, **kwargs):
        raise TypeError(f"{op}: backprop runs on the CPU only; there is no CUDA support. "
                        "Check backprop.cuda.is_available() first")

    unavailable.__name__ = op.rsplit(".", 1)[-1]
    return unavailable


def _false(*args, **kwargs):
    return False


def _zero(*args, **kwargs):
    return 0


def _nothing(*args, **kwargs):
    return None


# backprop.cuda: PyTorch's answers on a machine without CUDA. Seeding calls are accepted and do
# nothing, as torch.cuda.manual_seed does when CUDA is absent, so scripts that seed every device run.
cuda = types.ModuleType("backprop.cuda", "CUDA is not available: backprop runs on the CPU only.")
cuda.is_available = _false
cuda.device_count = _zero
cuda.is_initialized = _false
cuda.manual_seed = _nothing
cuda.manual_seed_all = _nothing
cuda.seed = _nothing
cuda.seed_all = _nothing
cuda.synchronize = _nothing
cuda.empty_cache = _nothing
cuda.current_device = _cpu_only("backprop.cuda.current_device")
cuda.set_device = _cpu_only("backprop.cuda.set_device")
cuda.get_device_name = _cpu_only("backprop.cuda.get_device_name")

# backprop.backends.mps / .cuda / .cudnn: flags scripts query or set.
backends = types.ModuleType("backprop.backends", "Accelerator backends: none is available.")
backends.mps = types.ModuleType("backprop.backends.mps")
backends.mps.is_available = _false
backends.mps.is_built = _false
backends.cuda = types.ModuleType("backprop.backends.cuda")
backends.cuda.is_built = _false
backends.cudnn = types.ModuleType("backprop.backends.cudnn")
backends.cudnn.is_available = _false
backends.cudnn.enabled = False
backends.cudnn.deterministic = False
backends.cudnn.benchmark = False

# backprop.accelerator: the current accelerator is none.
accelerator = types.ModuleType("backprop.accelerator", "No accelerator: backprop runs on the CPU only.")
accelerator.is_available = _false
accelerator.device_count = _zero
accelerator.current_accelerator = _nothing
accelerator.synchronize = _nothing

# `import backprop.cuda` and `from backprop.backends import mps` work as they do for torch.
for _m in (cuda, backends, backends.mps, backends.cuda, backends.cudnn, accelerator):
    sys.modules[_m.__name__] = _m
del _m
