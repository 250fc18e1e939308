"""utils.data.DistributedSampler: each rank's share of a dataset, as torch.utils.data.DistributedSampler."""

import itertools

import pytest

import backprop as bp
from backprop.utils.data import DataLoader, DistributedSampler, TensorDataset

SIZES = [0, 1, 5, 10, 11, 12, 17]
REPLICAS = [1, 2, 3, 4, 7]


def _shares(n, replicas, **kwargs):
    dataset = list(range(n))
    return [list(DistributedSampler(dataset, replicas, rank, **kwargs)) for rank in range(replicas)]


@pytest.mark.parametrize("n,replicas", list(itertools.product(SIZES, REPLICAS)))
def test_ranks_partition_the_dataset(n, replicas):
    for shuffle in (False, True):
        padded = _shares(n, replicas, shuffle=shuffle, seed=3)
        assert len({len(s) for s in padded}) == 1
        flat = [i for s in padded for i in s]
        assert set(flat) == set(range(n))  # everything, with at most one pass of padding
        assert len(flat) == -(-n // replicas) * replicas

        dropped = _shares(n, replicas, shuffle=shuffle, seed=3, drop_last=True)
        flat = [i for s in dropped for i in s]
        assert len(flat) == len(set(flat)) == (n // replicas) * replicas
        assert len({len(s) for s in dropped}) == 1


def test_epochs_reshuffle_identically_on_every_rank():
    samplers = [DistributedSampler(range(20), 2, rank, seed=5) for rank in range(2)]
    orders = []
    for epoch in range(3):
        for s in samplers:
            s.set_epoch(epoch)
        shares = [list(s) for s in samplers]
        assert sorted(shares[0] + shares[1]) == list(range(20))
        assert shares == [list(s) for s in samplers]  # the same order when iterated again
        orders.append(shares[0])
    assert orders[0] != orders[1] != orders[2]
    other_seed = DistributedSampler(range(20), 2, 0, seed=6)
    assert list(other_seed) != orders[0]


def test_unshuffled_takes_every_nth_index_from_rank():
    assert _shares(7, 3, shuffle=False) == [[0, 3, 6], [1, 4, 0], [2, 5, 1]]
    assert _shares(7, 3, shuffle=False, drop_last=True) == [[0, 3], [1, 4], [2, 5]]


def test_drives_a_dataloader():
    x = bp.arange(10).reshape(10, 1)
    sampler = DistributedSampler(TensorDataset(x), num_replicas=2, rank=1, shuffle=False)
    loader = DataLoader(TensorDataset(x), batch_size=2, sampler=sampler)
    assert len(loader) == 3
    assert [b[0].reshape(-1).tolist() for b in loader] == [[1, 3], [5, 7], [9]]


def test_bad_layouts_raise():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(4), num_replicas=2, rank=-1)
    with pytest.raises(ValueError, match="num_replicas"):
        DistributedSampler(range(4), num_replicas=0, rank=0)


@pytest.mark.parametrize("n,replicas", list(itertools.product(SIZES[1:], REPLICAS)))
def test_matches_torch(n, replicas):
    torch_data = pytest.importorskip("torch.utils.data")
    for drop_last in (False, True):
        for rank in range(replicas):
            ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
            theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)
            # The permutation comes from another generator; the share sizes are the same.
            ours = DistributedSampler(range(n), replicas, rank, shuffle=True, drop_last=drop_last)
            theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=True, drop_last=drop_last)
            assert len(list(ours)) == len(list(theirs)) == len(ours)
