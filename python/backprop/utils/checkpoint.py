"""Gradient checkpointing: trade compute for memory by recomputing a segment's forward in backward."""

from .. import _core
from .._core import Tensor
from ..autograd import Function, backward, enable_grad


def _is_float_tensor(x):
    return isinstance(x, Tensor) and x.is_floating_point()


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, fn, preserve_rng_state, layout, anchor, *args):
        ctx.fn = fn
        ctx.rng_state = _core.get_rng_state() if preserve_rng_state else None
        # Only the inputs are kept; the segment's activations are dropped as soon as it returns.
        ctx.inputs = args
        outputs = fn(*args)
        single = not isinstance(outputs, (tuple, list))
        outs = (outputs,) if single else tuple(outputs)
        packed = [i for i, o in enumerate(outs) if _is_float_tensor(o)]
        ctx.packed = packed
        ctx.shapes = [(outs[i].shape, outs[i].numel()) for i in packed]
        ctx.flat = len(packed) > 1 and len({outs[i].dtype for i in packed}) == 1
        layout.update(flat=ctx.flat, single=single, outputs=outs, packed=packed, kind=type(outputs))
        if not ctx.flat:
            return outputs
        # Several outputs travel as one flat tensor, so that the graph has one node for the segment:
        # backward then recomputes the segment once and runs one backward pass through it with
        # every output's gradient, exactly as the plain run does.
        return _core.cat([outs[i].reshape(-1) for i in packed], 0)

    @staticmethod
    def backward(ctx, *grad_outputs):
        if ctx.flat:
            grads, offset = {}, 0
            for i, (shape, n) in zip(ctx.packed, ctx.shapes):
                grads[i] = grad_outputs[0].narrow(0, offset, n).reshape(shape)
                offset += n
        else:
            grads = dict(enumerate(grad_outputs))
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
        pairs = [(o, grads[i]) for i, o in enumerate(outputs)
                 if isinstance(o, Tensor) and o.requires_grad and grads.get(i) is not None]
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
    outs = list(layout.pop("outputs"))  # the graph keeps `layout`; it must not keep the outputs
    if not layout["flat"]:
        return result
    offset = 0
    for i in layout["packed"]:
        n = outs[i].numel()
        outs[i] = result.narrow(0, offset, n).reshape(outs[i].shape)
        offset += n
    kind = layout["kind"]
    if kind is list:
        return outs
    if kind is tuple:
        return tuple(outs)
    return kind(*outs)  # a namedtuple


__all__ = ["checkpoint"]
