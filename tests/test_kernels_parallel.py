"""The loss, index, reduction and clip kernels on inputs large enough to split across threads.

The op tables use small tensors, which stay below the grain size and run serial; these sizes
take the parallel path, and the results must not depend on the thread count.
"""

import math

import numpy as np
import pytest

import backprop as bp
import backprop.nn.functional as F


@pytest.fixture(params=[1, 2], ids=["1thread", "2threads"])
def threads(request):
    previous = bp.get_num_threads()
    bp.set_num_threads(request.param)
    yield request.param
    bp.set_num_threads(previous)


def _grad(lib, fn, a, dtype, *extra):
    x = lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True)
    out = fn(x, *extra)
    out.backward(lib.ones_like(out))
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_large_batch_matches_torch(threads, smoothing):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1024, 1000))
    t = rng.integers(0, 1000, 1024)
    t[::7] = -100
    w = rng.uniform(0.5, 2.0, 1000)

    def run(lib, functional):
        return _grad(
            lib,
            lambda v: functional.cross_entropy(
                v, lib.tensor(t), weight=lib.tensor(w, dtype=lib.float64), label_smoothing=smoothing
            ),
            x,
            "float64",
        )

    (bv, bg), (tv, tg) = run(bp, F), run(torch, torch.nn.functional)
    np.testing.assert_allclose(bv, tv, rtol=1e-10)
    np.testing.assert_allclose(bg, tg, rtol=1e-8, atol=1e-14)


def test_nll_loss_large_batch_matches_torch(threads):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40000, 3))
    t = rng.integers(0, 3, 40000)
    t[::5] = 1  # many rows share a class column
    (bv, bg), (tv, tg) = (
        _grad(lib, lambda v: fn.nll_loss(v, lib.tensor(t), reduction="sum"), x, "float64")
        for lib, fn in ((bp, F), (torch, torch.nn.functional))
    )
    np.testing.assert_allclose(bv, tv, rtol=1e-10)
    np.testing.assert_array_equal(bg, tg)


def test_gather_and_index_select_large_match_torch(threads):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 400))
    gi = rng.integers(0, 400, (300, 500))  # repeated indices: backward must add them up
    si = rng.integers(0, 300, 700)
    (bv, bg), (tv, tg) = (_grad(lib, lambda v: v.gather(1, lib.tensor(gi)), x, "float64") for lib in (bp, torch))
    np.testing.assert_array_equal(bv, tv)
    np.testing.assert_allclose(bg, tg, rtol=1e-12)
    (bv, bg), (tv, tg) = (_grad(lib, lambda v: v.index_select(0, lib.tensor(si)), x, "float64") for lib in (bp, torch))
    np.testing.assert_array_equal(bv, tv)
    np.testing.assert_allclose(bg, tg, rtol=1e-12)


def test_max_and_mean_over_dim_large_match_torch(threads):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((200, 300, 3))
    (bv, bg), (tv, tg) = (_grad(lib, lambda v: v.max(1)[0], x, "float64") for lib in (bp, torch))
    np.testing.assert_array_equal(bv, tv)
    np.testing.assert_array_equal(bg, tg)
    (bv, bg), (tv, tg) = (_grad(lib, lambda v: v.mean(1), x, "float64") for lib in (bp, torch))
    np.testing.assert_allclose(bv, tv, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(bg, tg, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_full_sum_splits_into_blocks_and_keeps_its_bits(dtype):
    # A full reduction splits the row into fixed blocks, so the thread count does not change the
    # order of the additions: the bits are the same on 1 and 2 threads.
    rng = np.random.default_rng(3)
    a = (rng.standard_normal(1_000_003) * 10.0 ** rng.integers(-3, 4, 1_000_003)).astype(dtype)
    previous = bp.get_num_threads()
    try:
        results = []
        for n in (1, 2):
            bp.set_num_threads(n)
            x = bp.tensor(a)
            results.append((x.sum().item(), x.mean().item(), x.reshape(1, -1).sum(dim=1).numpy()[0]))
    finally:
        bp.set_num_threads(previous)
    assert results[0] == results[1]
    exact = math.fsum(a.astype(np.float64).tolist())
    tol = 1e-6 if dtype == "float32" else 1e-12
    assert abs(results[0][0] - exact) <= tol * np.abs(a.astype(np.float64)).sum()
    assert results[0][2] == results[0][0]


@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, float("inf")])
def test_clip_grad_norm_large_matches_numpy(threads, norm_type):
    g = np.random.default_rng(4).standard_normal(100_003)
    p = bp.zeros(100_003, dtype=bp.float64, requires_grad=True)
    p.grad = bp.tensor(g)
    total = bp.nn.utils.clip_grad_norm_([p], max_norm=1.0, norm_type=norm_type)
    expected = np.max(np.abs(g)) if np.isinf(norm_type) else np.sum(np.abs(g) ** norm_type) ** (1 / norm_type)
    np.testing.assert_allclose(float(total), expected, rtol=1e-12)
    np.testing.assert_allclose(p.grad.numpy(), g * min(1.0, 1.0 / (expected + 1e-6)), rtol=1e-12)


def test_dropout_mask_large(threads):
    bp.manual_seed(5)
    x = bp.ones(100_000, dtype=bp.float64, requires_grad=True)
    y = F.dropout(x, p=0.25, training=True)
    y.sum().backward()
    v, g = y.detach().numpy(), x.grad.numpy()
    assert set(np.unique(v)) <= {0.0, 4.0 / 3.0}
    np.testing.assert_array_equal(g, v)  # d(x * mask)/dx is the mask, which is y for x = 1
    assert 0.2 < np.mean(v == 0) < 0.3
