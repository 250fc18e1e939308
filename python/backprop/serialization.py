"""backprop.save / backprop.load in the safetensors layout.

A flat mapping of names to tensors (a module's state_dict) is stored as plain safetensors
entries, so `safetensors.numpy.load_file` / `safetensors.torch.load_file` and the C++
`backprop::load` read it directly. Any other structure (an optimizer's state_dict, a dict of
several state dicts, numbers, strings) is stored with its tensors as entries and its shape as
JSON in the file's metadata.
"""

import json
import os
from collections import OrderedDict

from . import _core
from ._core import Tensor

_FORMAT = "backprop.format"
_TREE = "backprop.tree"


def _is_flat(obj):
    return isinstance(obj, dict) and all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items())


def _encode(obj, path, tensors):
    if isinstance(obj, Tensor):
        key = "/".join(path) or "tensor"
        if key in tensors:
            key = f"{key}#{len(tensors)}"
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


def _decode(obj, tensors):
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return OrderedDict((k, _decode(v, tensors)) for k, v in obj["__dict__"])
    return obj


def save(obj, f):
    """Writes `obj` to the path `f` atomically (a crash mid-write leaves the old file whole)."""
    path = os.fspath(f)
    if _is_flat(obj):
        _core._save({k: v.detach() for k, v in obj.items()}, path, {_FORMAT: "tensors"})
        return
    tensors = {}
    tree = _encode(obj, [], tensors)
    _core._save(tensors, path, {_FORMAT: "tree", _TREE: json.dumps(tree)})


def load(f):
    """Reads what `save` wrote, or any safetensors file of float32/float64/int64/bool tensors."""
    path = os.fspath(f)
    tensors, metadata = _core._load(path)
    if metadata.get(_FORMAT) == "tree":
        try:
            tree = json.loads(metadata[_TREE])
            return _decode(tree, tensors)
        except (KeyError, ValueError) as e:
            raise RuntimeError(f"load: '{path}' has a corrupted structure record: {e}") from None
    return OrderedDict(sorted(tensors.items()))
