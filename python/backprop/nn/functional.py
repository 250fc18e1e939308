"""Stateless functions on tensors, as in torch.nn.functional."""

from .. import _core
from .._core import (  # noqa: F401
    binary_cross_entropy_with_logits,
    dropout,
    gelu,
    layer_norm,
    leaky_relu,
    linear,
    log_softmax,
    mse_loss,
    nll_loss,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Log-softmax and negative log-likelihood in one fused op (class indices or probabilities)."""
    if size_average is not None or reduce is not None:
        raise TypeError("cross_entropy: size_average and reduce are deprecated; use reduction=")
    return _core.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)
