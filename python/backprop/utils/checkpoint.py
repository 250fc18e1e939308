"""Gradient checkpointing: trade compute for memory by recomputing a segment's forward in backward."""

from .. import _core
from .._core import Tensor
from ..autograd import Function, backward, enable_grad


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, fn, preserve_rng_state, layout, anchor, *args):
        # Outputs the rest of the graph does not use get None, so the recompute skips them.
        ctx.set_materialize_grads(False)
        ctx.fn = fn
        ctx.rng_state = _core.get_rng_state() if preserve_rng_state else None
        # Only the inputs are kept; the segment's activations are dropped as soon as it returns.
        ctx.inputs = args
        outputs = fn(*args)
        layout["kind"] = type(outputs)
        # Several outputs are several outputs of one node: backward recomputes the segment once
        # and runs one backward pass through it with every output's gradient, as the plain run does.
        return tuple(outputs) if isinstance(outputs, (tuple, list)) else outputs

    @staticmethod
    def backward(ctx, *grad_outputs):
        inputs = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, Tensor) else a for a in ctx.inputs]
        if ctx.rng_state is not None:
            outer_state = _core.get_rng_state()
            _core.set_rng_state(ctx.rng_state)  # dropout masks come out as in the forward pass
        try:
            with enable_grad():
                outputs = ctx.fn(*inputs)
        finally:
            if ctx.rng_state is not None:
                _core.set_rng_state(outer_state)
        outputs = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        pairs = [(o, g) for o, g in zip(outputs, grad_outputs)
                 if isinstance(o, Tensor) and o.requires_grad and g is not None]
        if pairs:
            # Parameters the segment closes over are leaves of the recomputed graph: backward()
            # accumulates into their .grad directly, as the plain run would.
            backward([o for o, _ in pairs], [g for _, g in pairs])
        grads_in = [a.grad if isinstance(a, Tensor) and a.requires_grad else None for a in inputs]
        return (None, None, None, None, *grads_in)


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True):
    """Runs function(*args) keeping only its inputs; backward recomputes its forward.

    Gradients equal the plain run's (for the inputs and for parameters `function` uses), and
    random ops (dropout) draw the same values in the recomputation when preserve_rng_state;
    peak memory drops by the activations inside `function`. Like PyTorch's reentrant
    checkpoint, it works with backward() (not with autograd.grad for parameters inside it).
    """
    if not _core.is_grad_enabled():
        return function(*args)
    # The anchor gives the recorded node an input that requires grad even when no argument does
    # (parameters inside `function` still need their gradients).
    anchor = _core.zeros([], requires_grad=True)
    layout = {}
    result = _Checkpoint.apply(function, preserve_rng_state, layout, anchor, *args)
    kind = layout["kind"]
    if kind is tuple or not issubclass(kind, (tuple, list)):
        return result
    if kind is list:
        return list(result)
    return kind(*result)  # a namedtuple


__all__ = ["checkpoint"]
