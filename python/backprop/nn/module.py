"""Module and Parameter: the bookkeeping every layer shares, as in torch.nn."""

from collections import OrderedDict, namedtuple
from typing import Any, Dict, Iterator, TypeVar

from .. import _core, _device
from .._core import Tensor
from ..autograd import no_grad
from ..utils.hooks import HookDict, RemovableHandle
from ._backward_hook import BackwardHookCall


_M = TypeVar("_M", bound="Module")


class Parameter(Tensor):
    """A tensor that a Module registers as one of its parameters (requires grad by default)."""

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = _core.zeros(0)
        # Share data's storage, but never its history: a parameter is a leaf.
        super().__init__(data.detach())
        self.requires_grad_(requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)


class Module:
    """Base class of layers: parameters, buffers and submodules are registered by attribute."""

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", HookDict())
        object.__setattr__(self, "_forward_hooks", HookDict())
        object.__setattr__(self, "_backward_pre_hooks", HookDict())
        object.__setattr__(self, "_backward_hooks", HookDict())
        # Handle ids of the hooks that take (and may return) keyword arguments.
        object.__setattr__(self, "_hooks_with_kwargs", set())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        d = self.__dict__
        if d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_pre_hooks"] or d["_backward_hooks"]:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    # ---- hooks -------------------------------------------------------------------------------
    def _has_hooks(self):
        d = self.__dict__
        return bool(d["_forward_pre_hooks"] or d["_forward_hooks"] or d["_backward_pre_hooks"] or d["_backward_hooks"])

    def _call_with_hooks(self, args, kwargs):
        with_kwargs = self._hooks_with_kwargs
        for key, hook in list(self._forward_pre_hooks.items()):
            if key in with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            "forward pre-hook registered with with_kwargs=True must return None or a tuple "
                            f"(args, kwargs), got {type(result).__name__}"
                        )
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        call = None
        if (self._backward_hooks or self._backward_pre_hooks) and _core.is_grad_enabled():
            call = BackwardHookCall(self, self._backward_pre_hooks, self._backward_hooks)
            args = call.wrap_inputs(args)
        output = self.forward(*args, **kwargs)
        for key, hook in list(self._forward_hooks.items()):
            result = hook(self, args, kwargs, output) if key in with_kwargs else hook(self, args, output)
            if result is not None:
                output = result
        if call is not None:
            output = call.wrap_outputs(output)
        return output

    def _add_hook(self, hooks, hook, prepend, with_kwargs=False):
        handle = RemovableHandle(hooks)
        if prepend:
            items = list(hooks.items())
            hooks.clear()
            hooks[handle.id] = hook
            hooks.update(items)
        else:
            hooks[handle.id] = hook
        if with_kwargs:
            self._hooks_with_kwargs.add(handle.id)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Runs `hook(module, args)` before each forward; it may return new args (a tuple, or one
        value). With with_kwargs=True it is `hook(module, args, kwargs)` and may return (args, kwargs).
        Returns a handle whose remove() takes the hook off."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False):
        """Runs `hook(module, args, output)` after each forward; it may return a new output. With
        with_kwargs=True it is `hook(module, args, kwargs, output)`. Returns a removable handle."""
        return self._add_hook(self._forward_hooks, hook, prepend, with_kwargs)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """Runs `hook(module, grad_output)` when the gradients of the module's outputs are known,
        before those of its inputs are computed; it may return a new grad_output tuple."""
        return self._add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook, prepend=False):
        """Runs `hook(module, grad_input, grad_output)` in backward, where grad_input holds the
        gradients of the module's positional tensor inputs (None for those that need none) and
        grad_output those of its outputs; it may return a new grad_input tuple. Returns a handle."""
        return self._add_hook(self._backward_hooks, hook, prepend)

    # ---- registration ----------------------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign attributes before Module.__init__() call")
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Parameter):
            for d in (buffers, modules):
                d.pop(name, None)
            self.__dict__.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            for d in (params, buffers):
                d.pop(name, None)
            self.__dict__.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' (Parameter or None expected)")
            params[name] = value if value is None or isinstance(value, Parameter) else Parameter(value)
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            buffers[name] = value
        elif name in modules and value is None:
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if key in d and name in d[key]:
                return d[key][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[key]:
                del self.__dict__[key][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' as parameter '{name}' (Parameter or None expected)")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' as buffer '{name}' (Tensor or None expected)")
        self._buffers[name] = tensor
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module

    register_module = add_module

    # ---- traversal -------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is not None:
                yield from module.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def get_submodule(self, target):
        """The submodule at dotted path `target` ("" is the module itself), as in PyTorch."""
        module = self
        if target == "":
            return module
        for item in target.split("."):
            child = module._modules.get(item)
            if not isinstance(child, Module):
                raise AttributeError(f"{type(module).__name__} has no attribute `{item}`")
            module = child
        return module

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, kind, prefix="", recurse=True):
        seen = set()
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, value in getattr(module, kind).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix="", recurse=True):
        yield from self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True):
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- modes and gradients ---------------------------------------------------------------
    def train(self: _M, mode: bool = True) -> _M:
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        # Recurse through children's own train(), so a subclass that overrides it is honoured.
        object.__setattr__(self, "training", mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self: _M) -> _M:
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                g = p.grad
                g.zero_()

    def apply(self, fn):
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- dtype -----------------------------------------------------------------------------
    def to(self, *args, **kwargs):
        """Converts floating parameters and buffers to a dtype, in place (the Parameter objects stay).

        Accepts PyTorch's forms: to(dtype), to("cpu"), to("cpu", dtype), to(tensor), to(device=, dtype=).
        """
        dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, _device.device) or (isinstance(a, str) and a.split(":")[0] in _device._TYPES):
                device = a
            elif isinstance(a, int) and not isinstance(a, bool):
                device = a  # a CUDA ordinal, as in PyTorch
            elif a is not None:
                dtype = a
        _device.check(device, f"{type(self).__name__}.to")
        if dtype is None:
            return self
        dtype = _core.zeros([], dtype=dtype).dtype  # every spelling: bp.float64, "float64", np.float64
        if not dtype.is_floating_point:
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        with no_grad():
            for m in self.modules():
                for p in m._parameters.values():
                    if p is not None and p.is_floating_point() and p.dtype != dtype:
                        p.data = p.to(dtype)  # the Parameter object (and optimizers holding it) stays
                        if p.grad is not None:
                            p.grad = p.grad.to(dtype)
                for name, b in m._buffers.items():
                    if b is not None and b.is_floating_point():
                        m._buffers[name] = b.to(dtype)
        return self

    def cpu(self):
        return self

    def cuda(self, device=None):
        raise TypeError(f"{type(self).__name__}.cuda: backprop runs on the CPU only (there is no CUDA support); "
                        "keep the module on the CPU")

    def double(self):
        return self.to(_core.dtype.float64)

    def float(self):
        return self.to(_core.dtype.float32)

    # ---- state -----------------------------------------------------------------------------
    def state_dict(self, destination: Any = None, prefix: str = "", keep_vars: bool = False) -> Dict[str, Tensor]:
        out = OrderedDict() if destination is None else destination
        for module_prefix, module in self.named_modules(prefix=prefix.rstrip(".")):
            skip = module.__dict__.get("_non_persistent", set())
            for name, p in module._parameters.items():
                if p is not None:
                    out[f"{module_prefix}.{name}" if module_prefix else name] = p if keep_vars else p.detach()
            for name, b in module._buffers.items():
                if b is not None and name not in skip:
                    out[f"{module_prefix}.{name}" if module_prefix else name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: Any, strict: bool = True) -> Any:
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = self._unexpected_keys(state_dict)
        mismatched = []
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                if not isinstance(value, Tensor):
                    raise TypeError(f"load_state_dict: '{key}' is a {type(value).__name__}, expected a Tensor")
                if tuple(value.shape) != tuple(target.shape):
                    mismatched.append(
                        f"size mismatch for {key}: copying a param with shape {tuple(value.shape)} from checkpoint, "
                        f"the shape in current model is {tuple(target.shape)}."
                    )
        errors = list(mismatched)
        if strict:  # PyTorch's order: missing keys first, then unexpected ones, then size mismatches
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors)
            )
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    target.copy_(state_dict[key])
        return _IncompatibleKeys(missing, unexpected)

    def _unexpected_keys(self, state_dict):
        # PyTorch's rule and order (the C++ Module follows it too): each module, depth first,
        # claims the keys under its prefix; a key is unexpected where it names neither a child
        # ("child.rest") nor one of the module's own parameters or persistent buffers.
        unexpected = []
        for module_prefix, module in self.named_modules():
            prefix = module_prefix + "." if module_prefix else ""
            skip = module.__dict__.get("_non_persistent", set())
            local = {k for k, v in module._parameters.items() if v is not None}
            local |= {k for k, v in module._buffers.items() if v is not None and k not in skip}
            for key in state_dict:
                if not key.startswith(prefix):
                    continue
                head, dot, _ = key[len(prefix):].partition(".")
                if (head not in module._modules) if dot else (head not in local):
                    unexpected.append(key)
        return unexpected

    # ---- printing --------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, module in self._modules.items():
            lines.append(_addindent(f"({name}): {module!r}", 2))
        main = type(self).__name__ + "("
        if not lines:
            return main + ")"
        if len(lines) == 1 and not self._modules:
            return main + lines[0] + ")"
        return main + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))


def _addindent(text, spaces):
    """Indents every line but the first by `spaces` (blank lines stay empty), as PyTorch's reprs do."""
    first, *rest = text.split("\n")
    if not rest:
        return text
    return "\n".join([first] + [(" " * spaces + line) if line.strip() else "" for line in rest])


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What load_state_dict returns: a named tuple, so `missing, unexpected = ...` works as in PyTorch."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"
