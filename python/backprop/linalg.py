"""backprop.linalg: the norms of torch.linalg (vector norms with ord and dim; matrix norms 'fro',
1, -1, inf and -inf)."""

from ._core import _linalg_matrix_norm as matrix_norm
from ._core import _linalg_norm as norm
from ._core import _linalg_vector_norm as vector_norm

__all__ = ["matrix_norm", "norm", "vector_norm"]
