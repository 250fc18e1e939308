"""backprop.save / backprop.load in the safetensors layout.

A flat mapping of names to tensors (a module's state_dict) is stored as plain safetensors
entries, so `safetensors.numpy.load_file` / `safetensors.torch.load_file` and the C++
`backprop::load` read it directly. Any other structure (an optimizer's state_dict, a dict of
several state dicts, numbers, strings) is stored with its tensors as entries and its shape as
JSON in the file's metadata.

Every file `load` cannot read (missing, a directory, truncated, corrupted, or breaking the
safetensors rules) raises `SerializationError`, a `RuntimeError` whose message names the file.
"""

import json
from typing import Any
import os
import tempfile
from collections import OrderedDict

from . import _core
from ._core import SerializationError, Tensor

__all__ = ["SerializationError", "load", "save"]

_FORMAT = "backprop.format"
_TREE = "backprop.tree"
_RESERVED = "__metadata__"  # the safetensors header key that cannot name a tensor


def _encodable(name):
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from os.listdir of a non-UTF-8 name
        return False
    return True


def _is_flat(obj):
    return isinstance(obj, dict) and all(
        isinstance(k, str) and k != _RESERVED and _encodable(k) and isinstance(v, Tensor) for k, v in obj.items()
    )


def _entry_name(path, tensors):
    # The readable path when it is free; otherwise the first free "path#n". Every name is checked
    # against those already taken, so two leaves never share an entry.
    base = "/".join(path) or "tensor"
    if not _encodable(base):
        base = "tensor"
    name, n = base, 1
    while name in tensors or name == _RESERVED:
        name = f"{base}#{n}"
        n += 1
    return name


def _encode(obj, path, tensors):
    if isinstance(obj, Tensor):
        key = _entry_name(path, tensors)
        tensors[key] = obj.detach()
        return {"__tensor__": key}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, path + [str(i)], tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, path + [str(i)], tensors) for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, (str, int)):
                raise TypeError(f"save: dictionary keys must be str or int, got {type(k).__name__}")
        return {"__dict__": [[k, _encode(v, path + [str(k)], tensors)] for k, v in obj.items()]}
    raise TypeError(
        f"save: cannot store an object of type {type(obj).__name__}; "
        "save tensors, numbers, strings, None, and lists, tuples and dicts of them"
    )


class _BadTree(Exception):
    pass


def _decode(obj, tensors):
    # Only the shapes _encode writes are accepted: anything else is a corrupted record.
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if not isinstance(obj, dict) or len(obj) != 1:
        raise _BadTree(f"unexpected {type(obj).__name__} {_short(obj)}")
    (tag, value), = obj.items()
    if tag == "__tensor__":
        if not isinstance(value, str) or value not in tensors:
            raise _BadTree(f"it refers to a tensor {_short(value)} that the file does not hold")
        return tensors[value]
    if tag == "__tuple__" and isinstance(value, list):
        return tuple(_decode(v, tensors) for v in value)
    if tag == "__dict__" and isinstance(value, list):
        out = OrderedDict()
        for pair in value:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))):
                raise _BadTree(f"a dict item {_short(pair)} is not a [key, value] pair with a str or int key")
            if pair[0] in out:
                raise _BadTree(f"the dict key {_short(pair[0])} appears twice")
            out[pair[0]] = _decode(pair[1], tensors)
        return out
    raise _BadTree(f"unexpected object {_short(obj)}")


def _short(obj):
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def _os_path(f, op):
    path = os.fspath(f)
    if ("\0" if isinstance(path, str) else b"\0") in path:
        raise ValueError(f"{op}: embedded null byte in the path")
    # Bytes reach the C++ side unchanged, including names that are not valid UTF-8.
    return os.fsdecode(path), os.fsencode(path)


def _through_file(f, op, fn):
    """Runs fn(path) on a temporary file standing for the file object `f` (io.BytesIO, an open
    file): the one reader and writer checks both. Errors name the object, not the temporary file."""
    with tempfile.TemporaryDirectory(prefix="backprop-") as tmp:
        path = os.path.join(tmp, "buffer.safetensors")
        try:
            return fn(path)
        except SerializationError as e:
            raise SerializationError(str(e).replace(path, f"<{type(f).__name__} object>")) from None


def save(obj, f) -> None:
    """Writes `obj` to the path `f` atomically (a crash mid-write leaves the old file whole), or to
    a writable binary file object (io.BytesIO, a file opened with "wb").

    Raises SerializationError when the file cannot be written."""
    if hasattr(f, "write") and not isinstance(f, (str, bytes, os.PathLike)):
        def to_buffer(path):
            save(obj, path)
            with open(path, "rb") as tmp:
                f.write(tmp.read())

        return _through_file(f, "save", to_buffer)
    path, raw = _os_path(f, "save")
    if _is_flat(obj):
        _core._save({k: v.detach() for k, v in obj.items()}, raw, {_FORMAT: "tensors"})
        return
    tensors = {}
    tree = _encode(obj, [], tensors)
    _core._save(tensors, raw, {_FORMAT: "tree", _TREE: json.dumps(tree)})


def load(f) -> Any:
    """Reads what `save` wrote, or any safetensors file of float32/float64/int64/bool tensors.

    `f` is a path or a readable binary file object. Raises SerializationError, naming the file,
    for any file it cannot read."""
    if hasattr(f, "read") and not isinstance(f, (str, bytes, os.PathLike)):
        data = f.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"load: the file object must be opened in binary mode; read() gave {type(data).__name__}")

        def from_buffer(path):
            with open(path, "wb") as tmp:
                tmp.write(data)
            return load(path)

        return _through_file(f, "load", from_buffer)
    path, raw = _os_path(f, "load")
    tensors, metadata = _core._load(raw)
    if metadata.get(_FORMAT) != "tree":
        return OrderedDict(sorted(tensors.items()))
    record = metadata.get(_TREE)
    if record is None:
        raise SerializationError(f"load: '{path}' is marked as a structure but has no {_TREE!r} record")
    try:
        return _decode(json.loads(record), tensors)
    except RecursionError:
        raise SerializationError(f"load: '{path}' has a structure record nested too deeply to read") from None
    except (ValueError, _BadTree) as e:  # json.JSONDecodeError is a ValueError
        raise SerializationError(f"load: '{path}' has a corrupted structure record: {e}") from None
