"""Datasets, samplers and a DataLoader (torch.utils.data) over tensors or NumPy arrays.

Loading runs in the calling process. Shuffling draws from `generator` (an int seed or a
``numpy.random.Generator``) or, without one, from backprop's global generator, so that
``backprop.manual_seed`` makes the batch order reproducible, as ``torch.manual_seed`` does.
"""

import collections.abc
import itertools
import math
import warnings

import numpy as np

from .. import _core
from .._core import Tensor
from .._creation import tensor as _tensor

__all__ = [
    "Dataset", "TensorDataset", "Subset", "random_split", "Sampler", "SequentialSampler", "RandomSampler",
    "BatchSampler", "DistributedSampler", "DataLoader", "default_collate",
]


class Dataset:
    """A map-style dataset: subclasses define __getitem__ and __len__."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


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


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return [self.dataset[self.indices[i]] for i in idx]
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


def _rng(generator):
    """A NumPy generator for one draw: from `generator` (seed or Generator) or backprop's global one."""
    if isinstance(generator, np.random.Generator):
        return generator
    if generator is None:
        # One draw from the global generator seeds this permutation, as PyTorch's RandomSampler does.
        seed = int(_core.randint(0, 2**62, (1,)).item())
        return np.random.default_rng(seed)
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator must be an int seed or a numpy.random.Generator, got {type(generator).__name__}")


def random_split(dataset, lengths, generator=None):
    """Splits `dataset` into non-overlapping Subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(sizes)):  # the remainder goes round-robin, as in PyTorch
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = _rng(generator).permutation(n).tolist()
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, order[start:start + length]))
        start += length
    return out


class Sampler:
    """Yields dataset indices."""

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new permutation per pass. An int `generator` seeds a stream that advances epoch by epoch."""

    def __init__(self, data_source, generator=None):
        self.data_source = data_source
        self.generator = np.random.default_rng(int(generator)) if isinstance(generator, (int, np.integer)) \
            else generator

    def __iter__(self):
        return iter(_rng(self.generator).permutation(len(self.data_source)).tolist())

    def __len__(self):
        return len(self.data_source)


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of batch_size (the last one shorter unless drop_last)."""

    def __init__(self, sampler, batch_size, drop_last):
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        it = iter(self.sampler)
        while True:
            batch = list(itertools.islice(it, self.batch_size))
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else (n + self.batch_size - 1) // self.batch_size


class DistributedSampler(Sampler):
    """The share of `dataset` that rank `rank` of `num_replicas` processes loads, as PyTorch's.

    Every rank draws the same permutation (seeded by ``seed + epoch``: call ``set_epoch`` before each
    epoch for a new order) and takes every num_replicas-th index from position `rank` on. Without
    drop_last the indices are padded by repeating the first ones so that every rank gets the same
    number; with it the tail that does not divide evenly is dropped. num_replicas and rank default
    to the world size and rank of ``backprop.distributed``'s default process group.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from .. import distributed  # MPI only when the caller leaves the layout to the process group

            if not distributed.is_initialized():
                raise RuntimeError("DistributedSampler: pass num_replicas and rank, or call "
                                   "backprop.distributed.init_process_group() first")
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            if padding <= len(indices):
                indices += indices[:padding]
            else:
                indices += (indices * math.ceil(padding / len(indices)))[:padding]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        """Sets the epoch that seeds the next permutation (with `seed`); call it before each epoch."""
        self.epoch = epoch


def default_collate(batch):
    """Merges a list of samples as PyTorch's default_collate does: tensors and arrays stack along a
    new first dim, numbers become a tensor (Python floats float64, ints int64), strings stay a list,
    dicts and sequences are collated field by field (tuples come back as lists, namedtuples as
    namedtuples)."""
    first = batch[0]
    if isinstance(first, Tensor):
        return _core.stack(list(batch), 0)
    if isinstance(first, np.ndarray):
        if first.dtype.kind not in "biuf":
            raise TypeError(f"default_collate: can't batch NumPy arrays of dtype {first.dtype}")
        return _tensor(np.stack(batch))
    if isinstance(first, np.generic):
        return _tensor(np.array(batch))
    if isinstance(first, bool):
        return _tensor(np.array(batch, dtype=bool))
    if isinstance(first, float):
        return _tensor(np.array(batch, dtype=np.float64))
    if isinstance(first, int):
        return _tensor(np.array(batch, dtype=np.int64))
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, collections.abc.Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(default_collate(list(fields)) for fields in zip(*batch)))
    if isinstance(first, collections.abc.Sequence):
        if any(len(sample) != len(first) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(fields)) for fields in zip(*batch)]
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(first)}"
    )


class DataLoader:
    """Batches of a dataset, with PyTorch's arguments.

    shuffle=True draws a new order every epoch, from `generator` (an int seed or a NumPy
    Generator) or from backprop's global generator (seeded by backprop.manual_seed).
    num_workers > 0 is accepted but loading stays in this process.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if num_workers > 0:
            warnings.warn("backprop's DataLoader loads in the calling process; num_workers is ignored", stacklevel=2)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                                 "and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with "
                                 "drop_last")
        elif isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if sampler is None:
            sampler = RandomSampler(dataset, generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.generator = generator
        self._custom_collate = collate_fn is not None
        self.collate_fn = collate_fn if collate_fn is not None else default_collate

    def __len__(self):
        if self.batch_sampler is None:
            return len(self.sampler)
        return len(self.batch_sampler)

    def __iter__(self):
        if self.batch_sampler is None:  # batch_size=None: samples one by one, uncollated
            for i in self.sampler:
                yield self.dataset[i]
            return
        fast = isinstance(self.dataset, TensorDataset) and not self._custom_collate
        for idx in self.batch_sampler:
            if fast:
                # Whole batches gathered at once; the same values default_collate would stack.
                yield [_gather(t, idx) for t in self.dataset.tensors]
            else:
                yield self.collate_fn([self.dataset[i] for i in idx])


def _gather(t, idx):
    if isinstance(t, Tensor):
        return t.index_select(0, _core.from_numpy(np.asarray(idx, dtype=np.int64)).clone())
    arr = np.asarray(t)[np.asarray(idx, dtype=np.int64)]
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"default_collate: can't batch NumPy arrays of dtype {arr.dtype}")
    return _tensor(arr)
