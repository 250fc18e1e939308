"""LayerNorm and BatchNorm1d."""

from .. import _core
from ..autograd import no_grad
from . import functional as F
from .module import Module, Parameter


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = dtype or _core.dtype.float32
        if elementwise_affine:
            self.weight = Parameter(_core.ones(*self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = Parameter(_core.zeros(*self.normalized_shape, dtype=dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return F.layer_norm(input, list(self.normalized_shape), self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class BatchNorm1d(Module):
    """Batch normalisation over (N, C) or (N, C, L) input, with running statistics for eval."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=None):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dtype = dtype or _core.dtype.float32
        if affine:
            self.weight = Parameter(_core.ones(num_features, dtype=dtype))
            self.bias = Parameter(_core.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _core.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", _core.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", _core.zeros([], dtype=_core.dtype.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def forward(self, input):
        if input.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {input.dim()}D input)")
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d: expected {self.num_features} channels in dim 1, got input of shape {tuple(input.shape)}"
            )
        dims = [0] if input.dim() == 2 else [0, 2]
        # (C,) statistics broadcast against (N, C) or (N, C, L).
        view = [1, self.num_features] + ([1] if input.dim() == 3 else [])
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            count = input.numel() // self.num_features
            if count <= 1 and self.training:
                raise ValueError(
                    f"Expected more than 1 value per channel when training, got input size {tuple(input.shape)}"
                )
            mean = input.mean(dims, keepdim=True)
            centered = input - mean
            var = (centered * centered).mean(dims, keepdim=True)
            if self.training and self.track_running_stats:
                with no_grad():
                    self.num_batches_tracked.add_(1)
                    m = self.momentum
                    if m is None:
                        m = 1.0 / float(self.num_batches_tracked.item())
                    unbiased = var.detach().reshape(self.num_features) * (count / max(count - 1, 1))
                    self.running_mean.copy_(self.running_mean * (1 - m) + mean.detach().reshape(self.num_features) * m)
                    self.running_var.copy_(self.running_var * (1 - m) + unbiased * m)
            out = centered / (var + self.eps).sqrt()
        else:
            mean = self.running_mean.reshape(view)
            var = self.running_var.reshape(view)
            out = (input - mean) / (var + self.eps).sqrt()
        if self.affine:
            out = out * self.weight.reshape(view) + self.bias.reshape(view)
        return out

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")
