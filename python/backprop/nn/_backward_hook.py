"""The machinery behind Module.register_full_backward_hook: gradients with respect to a module's
inputs and outputs, as PyTorch's full backward hooks.

One call of a hooked module puts an identity node on its tensor inputs and one on its tensor
outputs. Backward reaches the output node first: it runs the backward pre-hooks (which may replace
grad_output) and keeps grad_output. It then reaches the input node with grad_input, where the
backward hooks run and may replace grad_input. A module whose inputs need no gradient has no input
node: its hooks run at the output node with grad_input all None.
"""

from .._core import Tensor
from ..autograd import Function


def _check_replacement(result, like, what, hook):
    result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(result) != len(like):
        raise RuntimeError(
            f"backward hook {getattr(hook, '__name__', hook)!r} returned {len(result)} values for {what}, "
            f"expected {len(like)} (one per tensor; None where there is no gradient)"
        )
    for new, old in zip(result, like):
        if new is not None and old is not None and tuple(new.shape) != tuple(old.shape):
            raise RuntimeError(
                f"backward hook {getattr(hook, '__name__', hook)!r} returned a gradient of shape "
                f"{tuple(new.shape)} in {what} where the gradient has shape {tuple(old.shape)}"
            )
    return result


class _Identity(Function):
    @staticmethod
    def forward(ctx, on_backward, *tensors):
        ctx.on_backward = on_backward
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return (None,) + tuple(ctx.on_backward(grads))


class BackwardHookCall:
    """The state of one forward call of a module with backward hooks."""

    def __init__(self, module, pre_hooks, hooks):
        self.module = module
        self.pre_hooks = pre_hooks
        self.hooks = hooks
        self.grad_outputs = None
        self.n_inputs = 0
        self.inputs_hooked = False
        self.hooked = []

    def wrap_inputs(self, args):
        positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.n_inputs = len(positions)
        # Only inputs that need a gradient go through the node; the others keep grad_input None.
        self.hooked = [k for k, i in enumerate(positions) if args[i].requires_grad]
        if not self.hooked:
            return args
        self.inputs_hooked = True
        wrapped = _Identity.apply(self._on_inputs, *[args[positions[k]] for k in self.hooked])
        args = list(args)
        for k, w in zip(self.hooked, wrapped):
            args[positions[k]] = w
        return tuple(args)

    def wrap_outputs(self, out):
        single = isinstance(out, Tensor)
        outs = (out,) if single else out
        if not isinstance(outs, (tuple, list)) or not outs:
            return out
        if not all(isinstance(o, Tensor) for o in outs) or not any(o.requires_grad for o in outs):
            return out
        wrapped = _Identity.apply(self._on_outputs, *outs)
        return wrapped[0] if single else type(outs)(wrapped) if isinstance(outs, tuple) else list(wrapped)

    def _on_outputs(self, grads):
        for hook in list(self.pre_hooks.values()):
            result = hook(self.module, grads)
            if result is not None:
                grads = _check_replacement(result, grads, "grad_output", hook)
        self.grad_outputs = grads
        if not self.inputs_hooked:
            self._run_hooks((None,) * self.n_inputs)
        return grads

    def _on_inputs(self, grads):
        full = [None] * self.n_inputs
        for k, g in zip(self.hooked, grads):
            full[k] = g
        full = self._run_hooks(tuple(full))
        return [full[k] for k in self.hooked]

    def _run_hooks(self, grad_inputs):
        grad_outputs = self.grad_outputs
        for hook in list(self.hooks.values()):
            result = hook(self.module, grad_inputs, grad_outputs)
            if result is not None:
                grad_inputs = _check_replacement(result, grad_inputs, "grad_input", hook)
        return grad_inputs
