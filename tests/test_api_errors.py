"""Errors people see: wrong argument types give a message about the call, never the bindings' own.

The sweep calls every public function, Tensor method and setter, nn module constructor and
optimizer constructor with arguments of the wrong type. Any exception is fine; a message that
speaks of pybind11 or C++ types, or pybind11's overload list, is not. New functions are swept
without being listed here.
"""

import inspect

import pytest

import backprop as bp
from backprop import nn, optim
from backprop.nn import functional as F

BANNED = ("pybind11", "C++ type", "incompatible function arguments", "incompatible constructor arguments")
BAD = [None, "a", {}, object()]
# Calls that would wait on something outside the process, or write where they are told.
SKIP = {"save", "load", "set_num_threads", "get_num_threads", "seed", "lessons", "cmake_prefix_path"}


def _check(fn, args, label, failures):
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001  (any exception type is fine; its words are checked)
        msg = str(e)
        if any(b in msg for b in BANNED):
            failures.append(f"{label}{tuple(type(a).__name__ for a in args)}: {type(e).__name__}: {msg[:300]}")


def _sweep(fn, label, failures, arities=(1, 2, 3)):
    for n in arities:
        for bad in BAD:
            _check(fn, [bad] * n, label, failures)
        # A good first argument followed by bad ones reaches the checks of the later parameters.
        if n > 1:
            for bad in BAD:
                _check(fn, [bp.ones(2, 2)] + [bad] * (n - 1), label, failures)


def _public_callables(module):
    for name in sorted(dir(module)):
        if name.startswith("_") or name in SKIP:
            continue
        obj = getattr(module, name)
        if inspect.ismodule(obj) or not callable(obj):
            continue
        yield name, obj


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a call that writes a file writes it here


def test_sweep_module_functions(in_tmp):
    failures = []
    for module, prefix in ((bp, "backprop."), (F, "F."), (nn.init, "nn.init."), (bp.autograd, "autograd.")):
        for name, fn in _public_callables(module):
            if isinstance(fn, type) and issubclass(fn, BaseException):
                continue
            _sweep(fn, prefix + name, failures)
    assert not failures, "\n".join(failures)


def test_sweep_tensor_methods_and_setters():
    failures = []
    for name in sorted(dir(bp.Tensor)):
        if name.startswith("_") and name not in ("__init__", "__getitem__", "__setitem__", "__add__", "__matmul__",
                                                   "__eq__", "__lt__", "__pow__", "__iadd__", "__index__"):
            continue
        attr = inspect.getattr_static(bp.Tensor, name)
        if isinstance(attr, property):
            if attr.fset is not None:
                for bad in BAD[1:]:
                    x = bp.ones(2, 2)
                    _check(lambda v, x=x: setattr(x, name, v), [bad], f"Tensor.{name} = ", failures)
            continue
        if name == "__init__":
            _sweep(bp.Tensor, "Tensor", failures)
            continue
        x = bp.ones(2, 2, requires_grad=name not in ("backward",))
        method = getattr(x.detach().clone(), name)
        if callable(method):
            _sweep(method, f"Tensor.{name}", failures, arities=(1, 2))
    assert not failures, "\n".join(failures)


def test_the_setters_say_what_they_want():
    x = bp.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="assigned grad expected to be a Tensor or None but got grad of type float"):
        x.grad = 0.0
    with pytest.raises(TypeError, match="data.*must be a Tensor, got int"):
        x.data = 1
    with pytest.raises(TypeError, match="requires_grad must be a bool, got str"):
        x.requires_grad = "yes"
    with pytest.raises(ValueError, match="assigned grad has shape"):
        x.grad = bp.ones(3)


def _module_classes():
    for name, cls in _public_callables(nn):
        if isinstance(cls, type) and issubclass(cls, nn.Module) and cls is not nn.Module:
            yield name, cls


def test_sweep_nn_and_optim_constructors():
    failures = []
    for name, cls in _module_classes():
        _sweep(cls, f"nn.{name}", failures)
    params = [nn.Parameter(bp.ones(2))]
    for name, cls in _public_callables(optim):
        if isinstance(cls, type) and name != "Optimizer":
            _sweep(cls, f"optim.{name}", failures)
            for bad in BAD:  # good parameters, a bad hyper-parameter
                _check(lambda b, cls=cls: cls(params, b), [bad], f"optim.{name}(params, ...)", failures)
                _check(lambda b, cls=cls: cls(params, lr=b), [bad], f"optim.{name}(params, lr=...)", failures)
    assert not failures, "\n".join(failures)


def test_a_wrong_type_names_the_function_the_types_and_the_signature():
    with pytest.raises(TypeError) as e:
        bp.softmax(bp.ones(2), "a")
    msg = str(e.value)
    assert msg.startswith("backprop.softmax(): invalid argument types; got (Tensor, str)") and "dim: int" in msg
    with pytest.raises(TypeError, match=r"Tensor.transpose\(\).*got \(Tensor, NoneType, int\)"):
        bp.ones(2, 2).transpose(None, 1)
    with pytest.raises(TypeError, match=r"backprop.full\(\)"):
        bp.full((2,), "x")


def test_wrapped_functions_keep_their_names_docs_and_speed_paths():
    assert bp.softmax.__name__ == "softmax" and "dim" in bp.softmax.__doc__
    assert bp.Tensor.sum.__name__ == "sum"
    x = bp.ones(3)
    assert x.sum().item() == 3.0 and bp.Tensor.sum(x).item() == 3.0 and (x + 1).tolist() == [2.0] * 3
    bound = x.sum
    assert bound().item() == 3.0 and bound.__self__ is x
