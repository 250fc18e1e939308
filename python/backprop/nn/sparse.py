"""Embedding."""

from .. import _core
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """A lookup table of num_embeddings vectors; the gradient scatter-adds into the used rows."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None and padding_idx < 0:
            padding_idx += num_embeddings
        self.padding_idx = padding_idx
        self.weight = Parameter(_core.zeros(num_embeddings, embedding_dim, dtype=dtype or _core.dtype.float32))
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            from ..autograd import no_grad

            with no_grad():
                self.weight[self.padding_idx] = 0.0

    def forward(self, input):
        flat = input.reshape(-1)
        out = self.weight.index_select(0, flat)
        if self.padding_idx is not None and self.weight.requires_grad:
            # Rows of the padding index receive no gradient, as in PyTorch.
            keep = (flat != self.padding_idx).to(out.dtype).unsqueeze(1)
            out = out * keep + (out * (1 - keep)).detach()
        return out.reshape(*input.shape, self.embedding_dim)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
