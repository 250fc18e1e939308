"""Datasets and a DataLoader (torch.utils.data) over tensors or NumPy arrays."""

import numpy as np

from .. import _core
from .._core import Tensor


class Dataset:
    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class TensorDataset(Dataset):
    """Rows of several equally long tensors (or arrays), returned as a tuple per index."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        n = len(tensors[0])
        for i, t in enumerate(tensors):
            if len(t) != n:
                raise ValueError(f"Size mismatch between tensors: tensor 0 has {n} rows, tensor {i} has {len(t)}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


def default_collate(batch):
    """Stacks a list of samples: tensors and arrays along a new first dim, numbers into a tensor,
    tuples and dicts field by field."""
    first = batch[0]
    if isinstance(first, Tensor):
        return _core.stack(list(batch), 0)
    if isinstance(first, np.ndarray):
        return _core.from_numpy(np.ascontiguousarray(np.stack(batch))).clone()
    if isinstance(first, (bool, np.bool_)):
        return _core.from_numpy(np.array(batch, dtype=bool)).clone()
    if isinstance(first, (int, np.integer)):
        return _core.from_numpy(np.array(batch, dtype=np.int64)).clone()
    if isinstance(first, (float, np.floating)):
        return _core.from_numpy(np.array(batch, dtype=np.float32 if isinstance(first, float) else first.dtype)).clone()
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate(list(fields)) for fields in zip(*batch)) if isinstance(first, tuple) \
            else [default_collate(list(fields)) for fields in zip(*batch)]
    raise TypeError(f"default_collate: don't know how to batch samples of type {type(first).__name__}")


class DataLoader:
    """Batches of a dataset; shuffle=True draws a new order each epoch from `generator` (a seed or
    a numpy Generator), so runs with the same seed see the same batches."""

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, collate_fn=None, generator=None):
        if batch_size is None or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer, got {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn or default_collate
        if isinstance(generator, np.random.Generator):
            self._rng = generator
        else:
            self._rng = np.random.default_rng(generator)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        n = len(self.dataset)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        fast = isinstance(self.dataset, TensorDataset)
        for start in range(0, n, self.batch_size):
            idx = order[start:start + self.batch_size]
            if len(idx) < self.batch_size and self.drop_last:
                return
            if fast:
                # Gather whole batches at once instead of stacking single rows.
                yield tuple(_gather(t, idx) for t in self.dataset.tensors)
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in idx])


def _gather(t, idx):
    if isinstance(t, Tensor):
        return t.index_select(0, _core.from_numpy(np.ascontiguousarray(idx, dtype=np.int64)).clone())
    return _core.from_numpy(np.ascontiguousarray(np.asarray(t)[idx])).clone()


__all__ = ["Dataset", "TensorDataset", "DataLoader", "default_collate"]
