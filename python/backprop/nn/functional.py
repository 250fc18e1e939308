"""Stateless functions on tensors, as in torch.nn.functional."""

import warnings

from .. import _core
from .._core import (  # noqa: F401
    binary_cross_entropy_with_logits,
    celu_,
    elu_,
    gelu,
    glu,
    hardsigmoid_,
    hardswish_,
    hardtanh_,
    layer_norm,
    leaky_relu_,
    linear,
    log_softmax,
    logsigmoid,
    mish_,
    mse_loss,
    nll_loss,
    prelu,
    relu6_,
    relu_,
    selu_,
    sigmoid,
    silu_,
    softmax,
    softplus,
    softsign,
    tanh,
    tanhshrink,
)


def _no_legacy(op, size_average, reduce):
    if size_average is not None or reduce is not None:
        raise TypeError(f"{op}: size_average and reduce are deprecated; use reduction=")


def _warn_size(input, target):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(
            f"Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.", stacklevel=3)


# ---- activations ------------------------------------------------------------------------------
# inplace=True writes into the input and returns it, with PyTorch's rules: a leaf that requires
# grad raises, and the version bump makes a graph that saved the input raise in backward.


def relu(input, inplace=False):
    return _core.relu_(input) if inplace else _core.relu(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _core.leaky_relu_(input, negative_slope) if inplace else _core.leaky_relu(input, negative_slope)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _core.hardtanh_(input, min_val, max_val) if inplace else _core.hardtanh(input, min_val, max_val)


def relu6(input, inplace=False):
    return _core.relu6_(input) if inplace else _core.relu6(input)


def elu(input, alpha=1.0, inplace=False):
    return _core.elu_(input, alpha) if inplace else _core.elu(input, alpha)


def selu(input, inplace=False):
    return _core.selu_(input) if inplace else _core.selu(input)


def celu(input, alpha=1.0, inplace=False):
    return _core.celu_(input, alpha) if inplace else _core.celu(input, alpha)


def silu(input, inplace=False):
    return _core.silu_(input) if inplace else _core.silu(input)


def mish(input, inplace=False):
    return _core.mish_(input) if inplace else _core.mish(input)


def hardswish(input, inplace=False):
    return _core.hardswish_(input) if inplace else _core.hardswish(input)


def hardsigmoid(input, inplace=False):
    return _core.hardsigmoid_(input) if inplace else _core.hardsigmoid(input)


def dropout(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    return _core.dropout_(input, p, training) if inplace else _core.dropout(input, p, training)


# ---- losses -------------------------------------------------------------------------------------


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    """Log-softmax and negative log-likelihood in one fused op (class indices or probabilities)."""
    _no_legacy("cross_entropy", size_average, reduce)
    return _core.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """BCE of probabilities; the logs are clamped at -100 as in PyTorch."""
    _no_legacy("binary_cross_entropy", size_average, reduce)
    return _core.binary_cross_entropy(input, target, weight, reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _no_legacy("l1_loss", size_average, reduce)
    _warn_size(input, target)
    return _core.l1_loss(input, target, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _no_legacy("smooth_l1_loss", size_average, reduce)
    _warn_size(input, target)
    return _core.smooth_l1_loss(input, target, reduction, beta)


def huber_loss(input, target, reduction="mean", delta=1.0):
    _warn_size(input, target)
    return _core.huber_loss(input, target, reduction, delta)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL divergence of log-probabilities `input` from `target`; use reduction='batchmean' for the
    mathematical definition ('mean' also divides by the number of classes, as in PyTorch)."""
    _no_legacy("kl_div", size_average, reduce)
    if reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support size. "
            "'batchmean' divides only by the batch size, and aligns with the KL div math definition.",
            stacklevel=2)
    return _core.kl_div(input, target, reduction, log_target)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of `target` under N(input, var); var is clamped at eps."""
    return _core.gaussian_nll_loss(input, target, var, full, eps, reduction)
