"""TensorDataset and DataLoader."""

import numpy as np
import pytest

import backprop as bp
from backprop.utils.data import DataLoader, Dataset, TensorDataset


def test_batches_cover_the_data_in_order():
    x = bp.arange(10, dtype=bp.float32).reshape(10, 1)
    y = bp.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and len(batches) == 3
    assert [b[0].shape for b in batches] == [(4, 1), (4, 1), (2, 1)]
    assert np.concatenate([b[1].numpy() for b in batches]).tolist() == list(range(10))


def test_drop_last_and_shuffle_with_seed():
    data = TensorDataset(np.arange(10, dtype=np.float64), np.arange(10))
    loader = DataLoader(data, batch_size=3, shuffle=True, drop_last=True, generator=42)
    first = [b[1].tolist() for b in loader]
    assert len(first) == 3 and all(len(b) == 3 for b in first)
    assert len(set(sum(first, []))) == 9
    again = [b[1].tolist() for b in DataLoader(data, batch_size=3, shuffle=True, drop_last=True, generator=42)]
    assert first == again
    second_epoch = [b[1].tolist() for b in loader]
    assert second_epoch != first
    batch = next(iter(loader))
    assert batch[0].dtype == bp.float64 and batch[1].dtype == bp.int64


def test_custom_dataset_and_default_collate():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return {"x": bp.tensor([float(i)]), "y": i * i, "w": np.array([i, i], dtype=np.float32)}

    batch = next(iter(DataLoader(Squares(), batch_size=5)))
    assert batch["x"].shape == (5, 1)
    assert batch["y"].tolist() == [0, 1, 4, 9, 16] and batch["y"].dtype == bp.int64
    assert batch["w"].shape == (5, 2) and batch["w"].dtype == bp.float32


def test_errors():
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(bp.zeros(3), bp.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(TensorDataset(bp.zeros(3)), batch_size=0)


def _same(ours, theirs):
    """A collated structure of backprop tensors equals PyTorch's: types, dtypes and values."""
    torch = pytest.importorskip("torch")
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, bp.Tensor)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is dict and list(ours) == list(theirs)
        for k in theirs:
            _same(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
    else:
        assert ours == theirs


def test_default_collate_matches_torch():
    torch = pytest.importorskip("torch")
    from collections import namedtuple

    from torch.utils.data import default_collate as torch_collate

    from backprop.utils.data import default_collate

    Pair = namedtuple("Pair", "x y")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(3) for _ in range(4)]
    cases = [
        ([1.5, 2.5, 3.0], [1.5, 2.5, 3.0]),                       # Python floats: float64
        ([1, 2, 3], [1, 2, 3]),                                     # ints: int64
        ([True, False], [True, False]),                             # bools
        ([np.float32(1), np.float32(2)], [np.float32(1), np.float32(2)]),
        (["a", "b"], ["a", "b"]),                                   # strings pass through
        (arrays, arrays),                                           # float64 arrays stay float64
        ([a.astype(np.float32) for a in arrays], [a.astype(np.float32) for a in arrays]),
        ([(bp.tensor([1.0, 2.0]), 0), (bp.tensor([3.0, 4.0]), 1)],  # tuples come back as lists
         [(torch.tensor([1.0, 2.0]), 0), (torch.tensor([3.0, 4.0]), 1)]),
        ([[1, 2.0], [3, 4.0]], [[1, 2.0], [3, 4.0]]),
        ([Pair(1, 2.0), Pair(3, 4.0)], [Pair(1, 2.0), Pair(3, 4.0)]),
        ([{"a": 1, "b": [0.5]}, {"a": 2, "b": [1.5]}], [{"a": 1, "b": [0.5]}, {"a": 2, "b": [1.5]}]),
    ]
    for ours, theirs in cases:
        _same(default_collate(ours), torch_collate(theirs))
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object(), object()])


@pytest.mark.parametrize("n,batch_size,drop_last", [(10, 3, False), (10, 3, True), (9, 3, True), (2, 5, False)])
def test_loader_batches_match_torch_in_order(n, batch_size, drop_last):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).standard_normal((n, 2)).astype(np.float32)
    y = np.arange(n)
    ours = DataLoader(TensorDataset(bp.tensor(x), bp.tensor(y)), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    batches, tbatches = list(ours), list(theirs)
    assert len(batches) == len(tbatches)
    for b, tb in zip(batches, tbatches):
        _same(b, tb)


def test_shuffle_follows_manual_seed_without_a_generator():
    data = TensorDataset(bp.arange(20))
    loader = DataLoader(data, batch_size=5, shuffle=True)
    bp.manual_seed(3)
    first = [b[0].tolist() for b in loader]
    second = [b[0].tolist() for b in loader]
    bp.manual_seed(3)
    assert [b[0].tolist() for b in loader] == first
    assert second != first
    assert sorted(sum(first, [])) == list(range(20))


def test_custom_collate_sampler_and_batch_sampler():
    from backprop.utils.data import BatchSampler, SequentialSampler

    data = TensorDataset(bp.arange(6), bp.arange(6) * 10)
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return [tuple(int(v) for v in s) for s in samples]

    assert list(DataLoader(data, batch_size=4, collate_fn=collate)) == [
        [(0, 0), (1, 10), (2, 20), (3, 30)], [(4, 40), (5, 50)]]
    assert seen == [4, 2]
    backwards = DataLoader(data, batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert [b[0].tolist() for b in backwards] == [[5, 4], [3, 2], [1, 0]]
    pairs = DataLoader(data, batch_sampler=[[0, 5], [2]])
    assert [b[1].tolist() for b in pairs] == [[0, 50], [20]] and len(pairs) == 2
    unbatched = DataLoader(data, batch_size=None)
    assert len(unbatched) == 6 and [int(s[1]) for s in unbatched] == [0, 10, 20, 30, 40, 50]
    sampler = BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)
    assert list(sampler) == [[0, 1, 2], [3, 4, 5], [6]] and len(sampler) == 3
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(data, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(data, batch_sampler=[[0]], batch_size=2)


def test_subset_and_random_split():
    from backprop.utils.data import Subset, random_split

    data = TensorDataset(bp.arange(10))
    sub = Subset(data, [7, 2])
    assert len(sub) == 2 and int(sub[0][0]) == 7
    train, test = random_split(data, [7, 3], generator=0)
    assert len(train) == 7 and len(test) == 3
    assert sorted(int(s[0]) for s in list(train) + list(test)) == list(range(10))
    again, _ = random_split(data, [7, 3], generator=0)
    assert again.indices == train.indices
    parts = random_split(data, [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(data, [4, 4])
    batch = next(iter(DataLoader(train, batch_size=7)))
    assert sorted(batch[0].tolist()) == sorted(train.indices)


def test_numpy_dataset_and_workers_warning():
    x = np.arange(12, dtype=np.float64).reshape(6, 2)
    with pytest.warns(UserWarning, match="num_workers"):
        loader = DataLoader(TensorDataset(x, np.arange(6)), batch_size=4, num_workers=2)
    xb, yb = next(iter(loader))
    assert xb.dtype == bp.float64 and yb.dtype == bp.int64 and xb.shape == (4, 2)
