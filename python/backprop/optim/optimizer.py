"""The Optimizer base class: PyTorch's interface over a fused C++ optimizer.

`param_groups` is a list of dicts, as in PyTorch, and stays the source of truth for
hyperparameters: schedulers and users edit it, and each step hands the current values to the
C++ optimizer, which updates every parameter in one call.
"""

import inspect
import math
import numbers
from typing import Any

from .. import _core
from .._core import Tensor
from ..autograd import enable_grad


class Optimizer:
    _core_class = None
    # Whether PyTorch keeps a 'step' in each parameter's state dict.
    _keeps_step = True
    # State entries that are one number per parameter rather than a buffer shaped like it.
    _scalar_state = ()

    def __init__(self, params, defaults) -> None:
        self.defaults = dict(defaults)
        self.param_groups = []
        self._impl = None
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                "but got a Tensor"
            )
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- subclasses say how a group's dict maps to the C++ options -------------------------
    def _options(self, group):
        raise NotImplementedError

    def _check_types(self, group):
        """Each hyperparameter has the kind of value its default has: a number where the default is
        a number (a 0-d tensor too, as PyTorch allows), a pair of numbers for betas."""
        name = type(self).__name__

        def is_number(v):
            return (isinstance(v, numbers.Real) and not isinstance(v, bool)) or (isinstance(v, Tensor) and v.dim() == 0)

        # The constructor's own defaults say the kind: self.defaults holds what the caller passed.
        signature = inspect.signature(type(self).__init__).parameters
        for key in self.defaults:
            value = group[key]
            default = signature[key].default if key in signature else None
            if isinstance(default, numbers.Real) and not isinstance(default, bool) and not is_number(value):
                raise TypeError(f"{name}: {key} must be a number, but got {type(value).__name__} ({value!r})")
            if isinstance(default, tuple) and not (isinstance(value, (tuple, list)) and len(value) == len(default)
                                                   and all(is_number(v) for v in value)):
                raise TypeError(f"{name}: {key} must be a tuple of {len(default)} numbers, but got {value!r}")
            if isinstance(default, tuple):
                group[key] = tuple(value)

    def _check(self, group):
        if group["lr"] < 0.0:
            raise ValueError(f"Invalid learning rate: {group['lr']}")

    def add_param_group(self, param_group):
        group = dict(param_group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self._check_types(group)
        self._check(group)
        options = self._options(group)
        if self._impl is None:
            self._impl = self._core_class([(group["params"], options)], {})
        else:
            self._impl.add_param_group(group["params"], options)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        self._impl.zero_grad(set_to_none)

    def step(self, closure=None) -> Any:
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for i, group in enumerate(self.param_groups):
            self._impl.set_options(i, self._options(group))
        self._impl.step()
        return loss

    # ---- state ---------------------------------------------------------------------------
    def _param_state(self, p):
        raw = self._impl.get_state(p)
        if raw is None:
            return None
        step, buffers, scalars = raw
        state = dict(buffers)
        for key, value in scalars.items():
            state[key] = _core.full([], value, dtype=_core.dtype.float64)
        if self._keeps_step:
            state["step"] = _core.full([], float(step), dtype=_core.dtype.float32)
        return state

    @property
    def state(self):
        """Per-parameter state, keyed by parameter (a snapshot whose tensors are live)."""
        out = _IdentityDict()
        for group in self.param_groups:
            for p in group["params"]:
                s = self._param_state(p)
                if s is not None:
                    out[p] = s
        return out

    def state_dict(self):
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                s = self._param_state(p)
                if s is not None:
                    state[index[id(p)]] = {k: v.clone() if isinstance(v, Tensor) else v for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(groups)} parameter groups, but the optimizer has {len(self.param_groups)}"
            )
        for saved, group in zip(groups, self.param_groups):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
                )
        params_by_index = {}
        for saved, group in zip(groups, self.param_groups):
            for i, p in zip(saved["params"], group["params"]):
                params_by_index[i] = p
            for key, value in saved.items():
                if key != "params":
                    group[key] = tuple(value) if isinstance(value, list) else value
        for i, s in state_dict["state"].items():
            p = params_by_index.get(int(i))
            if p is None:
                raise ValueError(f"loaded state refers to parameter {i}, which no group contains")
            step = s.get("step", 0)
            step = int(step.item()) if isinstance(step, Tensor) else int(step)
            scalars = {k: float(v.item()) if isinstance(v, Tensor) else float(v)
                       for k, v in s.items() if k in self._scalar_state}
            buffers = {k: v for k, v in s.items()
                       if k != "step" and k not in self._scalar_state and isinstance(v, Tensor)}
            self._impl.set_state(p, step, buffers, scalars)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


class _IdentityDict(dict):
    """A dict keyed by tensors by identity (Tensor.__eq__ is elementwise)."""

    def __init__(self):
        super().__init__()
        self._keys = {}

    def __setitem__(self, key, value):
        self._keys[id(key)] = key
        super().__setitem__(id(key), value)

    def __getitem__(self, key):
        return super().__getitem__(id(key))

    def __contains__(self, key):
        return super().__contains__(id(key))

    def keys(self):
        return [self._keys[k] for k in super().keys()]

    def items(self):
        return [(self._keys[k], v) for k, v in super().items()]

    def __iter__(self):
        return iter(self.keys())


def _flag(value):
    return 1.0 if value else 0.0


def _finite(name, value):
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f"Invalid {name} value: {value}")
