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
