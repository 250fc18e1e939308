"""Sequential and ModuleList."""

import operator
from collections import OrderedDict

from .. import _core
from .activation import ReLU, Sigmoid, Tanh
from .linear import Linear
from .module import Module, _addindent

# A Linear followed by one of these runs as one fused op (same values, fewer passes over memory).
_FUSABLE = {ReLU: "relu", Tanh: "tanh", Sigmoid: "sigmoid"}


def _key_at(modules, idx):
    keys = list(modules.keys())
    idx = operator.index(idx)
    if not -len(keys) <= idx < len(keys):
        raise IndexError(f"index {idx} is out of range")
    return keys[idx]


def _renumber(container):
    # After a deletion the keys run "0", "1", ... again, as in PyTorch.
    mods = list(container._modules.values())
    container._modules.clear()
    for i, m in enumerate(mods):
        container._modules[str(i)] = m


class Sequential(Module):
    """Runs its modules in order; they are named "0", "1", ... unless an OrderedDict names them."""

    def __init__(self, *args) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        mods = list(self._modules.items())
        if isinstance(idx, slice):
            return self.__class__(OrderedDict(mods[idx]))
        idx = operator.index(idx)
        if not -len(mods) <= idx < len(mods):
            raise IndexError(f"index {idx} is out of range")
        return mods[idx][1]

    def __setitem__(self, idx, module):
        key = _key_at(self._modules, idx)
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules.keys())
        for key in (keys[idx] if isinstance(idx, slice) else [_key_at(self._modules, idx)]):
            del self._modules[key]
        _renumber(self)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += n
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)
        return self

    def pop(self, key):
        v = self[key]
        del self[key]
        return v

    def forward(self, input):
        mods = list(self._modules.values())
        i = 0
        while i < len(mods):
            m = mods[i]
            nxt = mods[i + 1] if i + 1 < len(mods) else None
            # Hooks on either layer need to see it run on its own.
            if type(m) is Linear and type(nxt) in _FUSABLE and not m._has_hooks() and not nxt._has_hooks():
                input = _core._linear_activation(input, m.weight, m.bias, _FUSABLE[type(nxt)])
                i += 2
                continue
            input = m(input)
            i += 1
        return input


class ModuleList(Module):
    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            for m in modules:
                self.append(m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return self.__class__(mods[idx])
        idx = operator.index(idx)
        if not -len(mods) <= idx < len(mods):
            raise IndexError(f"index {idx} is out of range")
        return mods[idx]

    def __setitem__(self, idx, module):
        key = _key_at(self._modules, idx)
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules.keys())
        for key in (keys[idx] if isinstance(idx, slice) else [_key_at(self._modules, idx)]):
            del self._modules[key]
        _renumber(self)

    def __iadd__(self, modules):
        return self.extend(modules)

    def __repr__(self):
        # Runs of identical entries print once, as "(0-3): 4 x Block(...)", as in PyTorch.
        reprs = [repr(m) for m in self]
        if not reprs:
            return type(self).__name__ + "()"
        runs = [[0, 0, reprs[0]]]
        for i, r in enumerate(reprs[1:], 1):
            if r == runs[-1][2]:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = [_addindent(f"({a}): {r}" if a == b else f"({a}-{b}): {b - a + 1} x {r}", 2) for a, b, r in runs]
        return type(self).__name__ + "(\n  " + "\n  ".join(lines) + "\n)"

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self
