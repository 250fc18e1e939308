"""Gradient computation: backward, grad, grad-mode contexts and a finite-difference checker."""

import functools

import numpy as np

from .. import _core
from .._core import Tensor


class _GradMode:
    """Sets grad mode for a `with` block or a decorated function; per thread, like PyTorch."""

    _mode = None

    def __enter__(self):
        self._prev = _core.is_grad_enabled()
        _core._set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _core._set_grad_enabled(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disables graph recording inside the block."""

    _mode = False


class enable_grad(_GradMode):
    """Enables graph recording inside the block (for example inside no_grad)."""

    _mode = True


class set_grad_enabled(_GradMode):
    """Sets grad mode to `mode`; effective at once, and undone on exit when used with `with`."""

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = _core.is_grad_enabled()
        _core._set_grad_enabled(self._mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _core._set_grad_enabled(self._prev)
        return False


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Accumulates gradients of `tensors` into the .grad of every leaf they depend on.

    With create_graph=True the backward pass is recorded, so the .grad it writes can be
    differentiated again; the graph is then kept (as with retain_graph=True), since the recorded
    gradients reach back into it."""
    retain = create_graph if retain_graph is None else retain_graph
    _core._backward(tensors, grad_tensors, bool(retain), bool(create_graph))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned as a tuple; leaves' .grad untouched.

    With create_graph=True the gradients carry a graph of their own, for gradients of gradients;
    the graph is then kept (as with retain_graph=True), since that graph reaches back into it."""
    single = isinstance(inputs, Tensor)
    retain = create_graph if retain_graph is None else retain_graph
    result = _core._grad(outputs, inputs, grad_outputs, bool(retain), allow_unused, bool(create_graph))
    return result if not single else (result[0],)


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytic and numerical gradients disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _float_outputs(out):
    return [o for o in _as_tuple(out) if isinstance(o, Tensor) and o.is_floating_point()]


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compares backward's gradients of `fn` with central differences, in float64.

    Every floating input that requires grad is checked. Returns True, or raises GradcheckError
    naming the input, the output and the worst element (returns False with raise_exception=False).
    """
    originals = _as_tuple(inputs)
    xs = []
    for x in originals:
        if isinstance(x, Tensor) and x.is_floating_point():
            xs.append(x.detach().double().clone().requires_grad_(x.requires_grad))
        else:
            xs.append(x)
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; set requires_grad=True on at least one")

    outputs = _float_outputs(fn(*xs))
    analytic = []  # per output, per checked input: (out_numel, in_numel)
    for out in outputs:
        per_input = [np.zeros((out.numel(), xs[i].numel())) for i in checked]
        for j in range(out.numel()):
            seed = np.zeros(out.numel())
            seed[j] = 1.0
            seed_t = _core.from_numpy(seed.reshape(out.shape)).clone()
            grads = grad(out, [xs[i] for i in checked], seed_t, retain_graph=True, allow_unused=True)
            for k, g in enumerate(grads):
                if g is not None:
                    per_input[k][j] = g.detach().numpy().reshape(-1)
        analytic.append(per_input)

    for k, i in enumerate(checked):
        flat = xs[i].detach().numpy().reshape(-1)  # a view: writes perturb the input in place
        numeric = [np.zeros((o.numel(), flat.size)) for o in outputs]
        for e in range(flat.size):
            orig = flat[e]
            flat[e] = orig + eps
            with no_grad():
                plus = [o.detach().numpy().reshape(-1).copy() for o in _float_outputs(fn(*xs))]
            flat[e] = orig - eps
            with no_grad():
                minus = [o.detach().numpy().reshape(-1).copy() for o in _float_outputs(fn(*xs))]
            flat[e] = orig
            for o in range(len(outputs)):
                numeric[o][:, e] = (plus[o] - minus[o]) / (2 * eps)
        for o in range(len(outputs)):
            a, n = analytic[o][k], numeric[o]
            bad = np.abs(a - n) > atol + rtol * np.abs(n)
            if bad.any():
                r, c = np.argwhere(bad)[0]
                msg = (
                    f"gradcheck: Jacobian mismatch for output {o} with respect to input {i}: "
                    f"analytic {a[r, c]!r} vs numerical {n[r, c]!r} at (output element {r}, input element {c}); "
                    f"{int(bad.sum())} of {bad.size} entries differ"
                )
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Checks second derivatives of `fn` against central differences of its first gradient, in float64.

    The first gradient (vector-Jacobian products with `grad_outputs`, random normal ones when not
    given) is computed with create_graph=True as a function of the inputs and of the grad_outputs,
    and gradcheck then compares its backward with finite differences. Returns True, or raises
    GradcheckError (returns False with raise_exception=False).
    """
    originals = _as_tuple(inputs)
    xs = [x.detach().double().clone().requires_grad_(x.requires_grad)
          if isinstance(x, Tensor) and x.is_floating_point() else x for x in originals]
    checked = [i for i, x in enumerate(xs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad; set requires_grad=True on at least one")
    with enable_grad():
        outputs = _float_outputs(fn(*xs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        vs = [_core.from_numpy(rng.normal(size=tuple(o.shape))).clone().requires_grad_(True) for o in outputs]
    else:
        vs = [v.detach().double().clone().requires_grad_(True) for v in _as_tuple(grad_outputs)]
    if len(vs) != len(outputs):
        raise ValueError(f"gradgradcheck: got {len(vs)} grad_outputs for {len(outputs)} floating outputs")
    n = len(xs)

    def first_gradient(*args):
        ins, seeds = args[:n], args[n:]
        with enable_grad():
            pairs = [(o, v) for o, v in zip(_float_outputs(fn(*ins)), seeds) if o.requires_grad]
            if not pairs:
                return ()
            grads = grad([o for o, _ in pairs], [ins[i] for i in checked], [v for _, v in pairs],
                         create_graph=True, allow_unused=True)
        # Gradients that do not depend on anything differentiable have no second derivative to check.
        return tuple(g for g in grads if g is not None and g.requires_grad)

    return gradcheck(first_gradient, list(xs) + vs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)


def _version(t):
    v = t._version
    return v() if callable(v) else v


class FunctionCtx:
    """The `ctx` of a Function: what forward leaves for backward."""

    def __init__(self):
        self._saved = ()
        self._saved_versions = ()
        self._non_differentiable = set()
        self._materialize_grads = True
        self.needs_input_grad = ()

    def save_for_backward(self, *tensors):
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save tensors or None, but got {type(t).__name__}")
        self._saved = tensors
        self._saved_versions = tuple(_version(t) if t is not None else None for t in tensors)

    @property
    def saved_tensors(self):
        for i, (t, v) in enumerate(zip(self._saved, self._saved_versions)):
            if t is not None and _version(t) != v:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: saved tensor {i} of shape {tuple(t.shape)} is at version {_version(t)}; expected "
                    f"version {v} instead. Avoid the in-place change or clone() the tensor before it"
                )
        return self._saved

    def mark_non_differentiable(self, *tensors):
        """Marks outputs that get no gradient: they do not require grad, and backward receives zeros
        (or None without materialized gradients) for them."""
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"mark_non_differentiable expects tensors, got {type(t).__name__}")
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        """Whether backward gets zeros (True, the default) or None for outputs no gradient reached."""
        self._materialize_grads = bool(value)


class Function:
    """A differentiable operation written in Python, as torch.autograd.Function:

        class Cube(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, grad):
                (x,) = ctx.saved_tensors
                return 3 * x ** 2 * grad

        y = Cube.apply(x)

    forward runs without recording; a forward returning a tuple is one graph node, and backward
    runs once with one gradient per output. backward returns one gradient (or None) per forward
    argument.
    """

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        with no_grad():
            outputs = cls.forward(ctx, *args)
        if not _core.is_grad_enabled() or not any(ctx.needs_input_grad):
            return outputs
        single = not isinstance(outputs, (tuple, list))
        outs = (outputs,) if single else tuple(outputs)
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensor_args = [args[i] for i in positions]
        name = cls.__name__ + "Backward"

        def run(grads):
            result = cls.backward(ctx, *grads)
            result = result if isinstance(result, (tuple, list)) else (result,)
            if len(result) != len(args):
                raise RuntimeError(
                    f"function {name} returned an incorrect number of gradients "
                    f"(expected {len(args)}, got {len(result)})"
                )
            return [result[i] for i in positions]

        differentiable = [
            isinstance(o, Tensor) and o.is_floating_point() and id(o) not in ctx._non_differentiable for o in outs
        ]
        wrapped = _core._function_outputs(
            run, tensor_args, [o if isinstance(o, Tensor) else None for o in outs], differentiable, name,
            ctx._materialize_grads,
        )
        result = tuple(w if w is not None else o for w, o in zip(wrapped, outs))
        return result[0] if single else result


from .anomaly_mode import detect_anomaly, is_anomaly_enabled, set_detect_anomaly  # noqa: E402
from . import graph  # noqa: E402
