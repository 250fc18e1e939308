"""GEMM behind matmul/linear: every kernel variant against a float64 NumPy reference.

Each test runs once per CPU capability this machine can execute (avx512, avx2, default),
switched in-process with the testing hook ``_core._set_cpu_capability``; the environment
variable that selects a variant at import is checked in subprocesses.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

import backprop as bp
from backprop import _core

CAPABILITIES = ["avx512", "avx2", "default"]
AVAILABLE = [c for c in CAPABILITIES if _core._cpu_capability_available(c)]
DTYPES = [np.float32, np.float64]


@pytest.fixture(params=CAPABILITIES)
def capability(request):
    cap = request.param
    if cap not in AVAILABLE:
        pytest.skip(f"this CPU or build cannot run the {cap} kernels")
    previous = _core._set_cpu_capability(cap)
    assert bp.cpu_capability() == cap
    yield cap
    _core._set_cpu_capability(previous)


def rand(shape, dtype, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def assert_matches(actual, a, b, dtype, what=""):
    """|actual - a@b| within a bound that grows with K, relative to |a| @ |b| (float64)."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    ref = np.matmul(a64, b64)
    scale = np.matmul(np.abs(a64), np.abs(b64))
    k = a64.shape[-1]
    eps = np.finfo(dtype).eps
    tol = (4 * np.sqrt(k) + 16) * eps * scale + np.finfo(dtype).tiny
    actual = np.asarray(actual, np.float64)
    assert actual.shape == ref.shape, f"{what}: shape {actual.shape} != {ref.shape}"
    err = np.abs(actual - ref)
    worst = np.unravel_index(np.argmax(err - tol), err.shape) if err.size else None
    assert np.all(err <= tol), f"{what}: error {err[worst]:.3e} > tolerance {tol[worst]:.3e} at {worst}"


# (M, K, N): ones, primes, tails that are no multiple of any register tile (6, 12 rows; 4, 8, 16,
# 32 columns), K = 0, sizes around the unpacked-loop threshold, the MLP shapes, and sizes that
# cross the cache blocks (K > 256, M > 192, N > 2048) and use both threads.
SHAPES = [
    (1, 1, 1),
    (1, 7, 1),
    (1, 300, 1),
    (2, 3, 4),
    (5, 0, 3),
    (0, 4, 3),
    (3, 4, 0),
    (7, 13, 9),
    (16, 16, 16),
    (16, 16, 17),
    (17, 31, 33),
    (6, 64, 16),
    (12, 64, 32),
    (13, 65, 33),
    (25, 129, 47),
    (64, 784, 256),
    (64, 256, 784),
    (256, 64, 784),
    (784, 64, 256),
    (97, 257, 61),
    (199, 300, 131),
    (33, 1000, 35),
    (3, 2050, 70),
    (40, 20, 2100),
    (2, 300, 200),
    (300, 200, 1),
    (200, 300, 3),
    (150, 70, 8),
    (37, 500, 5),
]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_matmul_2d(capability, shape, dtype):
    m, k, n = shape
    a, b = rand((m, k), dtype, 1), rand((k, n), dtype, 2)
    out = bp.matmul(bp.tensor(a), bp.tensor(b)).numpy()
    assert_matches(out, a, b, dtype, f"{capability} {shape}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("layout", ["NT", "TN", "TT"])
@pytest.mark.parametrize("shape", [(1, 5, 3), (7, 13, 9), (13, 65, 33), (64, 784, 256), (131, 300, 70), (2, 300, 200),
                                   (300, 200, 1), (150, 70, 8), (1, 700, 90)],
                         ids=lambda s: "x".join(map(str, s)))
def test_matmul_transposed_views(capability, shape, layout, dtype):
    """Operands given as .t() views go through the strided packing paths, not a copy."""
    m, k, n = shape
    ta, tb = layout[0] == "T", layout[1] == "T"
    a_store = rand((k, m) if ta else (m, k), dtype, 3)
    b_store = rand((n, k) if tb else (k, n), dtype, 4)
    A, B = bp.tensor(a_store), bp.tensor(b_store)
    A, B = (A.t() if ta else A), (B.t() if tb else B)
    a, b = (a_store.T if ta else a_store), (b_store.T if tb else b_store)
    assert_matches(bp.matmul(A, B).numpy(), a, b, dtype, f"{capability} {layout} {shape}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(5, 9, 7), (37, 70, 45), (70, 300, 90)], ids=lambda s: "x".join(map(str, s)))
def test_matmul_sliced_views(capability, shape, dtype):
    """Non-unit strides on both axes (neither operand has a contiguous dimension)."""
    m, k, n = shape
    a_store, b_store = rand((2 * m + 1, 3 * k), dtype, 5), rand((3 * k + 2, 2 * n), dtype, 6)
    A = bp.tensor(a_store)[1::2, ::3]
    B = bp.tensor(b_store)[2::3, 1::2]
    a, b = a_store[1::2, ::3], b_store[2::3, 1::2]
    assert not A.is_contiguous() and not B.is_contiguous()
    assert_matches(bp.matmul(A, B).numpy(), a, b, dtype, f"{capability} sliced {shape}")
    # a sliced, then transposed view
    At = bp.tensor(a_store)[1::2, ::3].t()
    assert_matches(bp.matmul(At, bp.tensor(a)).numpy(), a.T, a, dtype, f"{capability} sliced.t() {shape}")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_matmul_vectors_and_batches(capability, dtype):
    v, w = rand((37,), dtype, 7), rand((37,), dtype, 8)
    m = rand((37, 29), dtype, 9)
    assert np.allclose(bp.matmul(bp.tensor(v), bp.tensor(w)).numpy(), v.astype(np.float64) @ w, rtol=1e-4)
    assert_matches(bp.matmul(bp.tensor(v), bp.tensor(m)).numpy(), v, m, dtype, "vector @ matrix")
    assert_matches(bp.matmul(bp.tensor(m.T), bp.tensor(v)).numpy(), m.T, v, dtype, "matrix @ vector")
    x, y = rand((3, 21, 50), dtype, 10), rand((3, 50, 19), dtype, 11)
    assert_matches(bp.matmul(bp.tensor(x), bp.tensor(y)).numpy(), x, y, dtype, "batched")
    # broadcast batch dims, and a batched operand that is a transposed view
    x4, y2 = rand((2, 1, 17, 40), dtype, 12), rand((3, 19, 40), dtype, 13)
    out = bp.matmul(bp.tensor(x4), bp.tensor(y2).transpose(1, 2)).numpy()
    assert_matches(out, x4, np.swapaxes(y2, 1, 2), dtype, "broadcast batched, transposed")
    # batch folded into rows (3-D @ 2-D)
    z = rand((4, 33, 70), dtype, 14)
    assert_matches(bp.matmul(bp.tensor(z), bp.tensor(rand((70, 66), dtype, 15))).numpy(), z,
                   rand((70, 66), dtype, 15), dtype, "3-D @ 2-D")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(4, 5, 3), (64, 784, 256), (37, 100, 70)], ids=lambda s: "x".join(map(str, s)))
def test_linear_with_bias_accumulates(capability, shape, dtype):
    """linear seeds the output with the bias and the GEMM adds onto it (accumulate=True)."""
    m, k, n = shape
    x, w, b = rand((m, k), dtype, 16), rand((n, k), dtype, 17), rand((n,), dtype, 18)
    out = bp.nn.functional.linear(bp.tensor(x), bp.tensor(w), bp.tensor(b)).numpy()
    ref = x.astype(np.float64) @ w.T.astype(np.float64) + b
    scale = np.abs(x).astype(np.float64) @ np.abs(w.T) + np.abs(b)
    eps = np.finfo(dtype).eps
    assert np.all(np.abs(out - ref) <= (4 * np.sqrt(k) + 16) * eps * scale)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_gradients_through_shared_weights(capability, dtype):
    """Gradients of matmul/linear (transposed GEMMs) for a weight used twice; float64 reference."""
    rng = np.random.default_rng(19)
    x1, x2 = rng.standard_normal((33, 70)).astype(dtype), rng.standard_normal((20, 70)).astype(dtype)
    w_np, b_np = rng.standard_normal((45, 70)).astype(dtype), rng.standard_normal((45,)).astype(dtype)
    v_np = rng.standard_normal((45, 13)).astype(dtype)
    w = bp.tensor(w_np, requires_grad=True)
    b = bp.tensor(b_np, requires_grad=True)
    v = bp.tensor(v_np, requires_grad=True)
    X1, X2 = bp.tensor(x1, requires_grad=True), bp.tensor(x2, requires_grad=True)
    h1 = bp.nn.functional.linear(X1, w, b)  # (33, 45)
    h2 = bp.nn.functional.linear(X2, w, b)  # (20, 45)
    loss = (bp.matmul(h1, v) ** 2).sum() + (bp.matmul(h2, v) * 3.0).sum() + bp.matmul(X1, w.t()).sum()
    loss.backward()

    f = np.float64
    H1 = x1.astype(f) @ w_np.T.astype(f) + b_np
    H2 = x2.astype(f) @ w_np.T.astype(f) + b_np
    gP1 = 2 * (H1 @ v_np.astype(f))  # d/d(h1 @ v)
    gH1 = gP1 @ v_np.T.astype(f)
    gH2 = np.full((20, 13), 3.0) @ v_np.T.astype(f)
    ones = np.ones((33, 45))
    gw = gH1.T @ x1 + gH2.T @ x2 + ones.T @ x1
    gb = gH1.sum(0) + gH2.sum(0)
    gv = H1.T @ gP1 + H2.T @ np.full((20, 13), 3.0)
    gx1 = gH1 @ w_np + ones @ w_np
    gx2 = gH2 @ w_np
    rtol = 2e-4 if dtype == np.float32 else 1e-10
    for name, got, ref in [("w", w, gw), ("b", b, gb), ("v", v, gv), ("x1", X1, gx1), ("x2", X2, gx2)]:
        g = got.grad.numpy().astype(f)
        err = np.max(np.abs(g - ref)) / max(np.max(np.abs(ref)), 1e-30)
        assert err <= rtol, f"{capability} grad {name}: relative error {err:.3e}"


def test_thread_counts_agree(capability):
    """One thread and the full team give the same product (the split is by whole tiles)."""
    a, b = rand((131, 300), np.float64, 20), rand((300, 517), np.float64, 21)
    threads = bp.get_num_threads()
    try:
        bp.set_num_threads(1)
        one = bp.matmul(bp.tensor(a), bp.tensor(b)).numpy()
        bp.set_num_threads(max(2, threads))
        many = bp.matmul(bp.tensor(a), bp.tensor(b)).numpy()
    finally:
        bp.set_num_threads(threads)
    assert_matches(one, a, b, np.float64, "1 thread")
    assert_matches(many, a, b, np.float64, "team")
    # the row split and the column split change which tile holds an element, not the sums
    np.testing.assert_allclose(one, many, rtol=1e-12, atol=1e-12)


def test_large_float32_against_numpy(capability):
    """A product big enough for every cache block and both threads."""
    a, b = rand((400, 700), np.float32, 22), rand((700, 2200), np.float32, 23)
    assert_matches(bp.matmul(bp.tensor(a), bp.tensor(b)).numpy(), a, b, np.float32, "400x700x2200")


@pytest.mark.parametrize("layout", ["NN", "NT", "TN"])
def test_large_float64_every_block_and_layout(capability, layout):
    """float64 blocks are sized apart from float32's: several K, M and N blocks with ragged
    edges, in the three layouts of an MLP step (forward NT, input gradient NN, weight gradient TN)."""
    m, k, n = 203, 611, 2113
    ta, tb = layout[0] == "T", layout[1] == "T"
    a_store = rand((k, m) if ta else (m, k), np.float64, 24)
    b_store = rand((n, k) if tb else (k, n), np.float64, 25)
    A, B = bp.tensor(a_store), bp.tensor(b_store)
    A, B = (A.t() if ta else A), (B.t() if tb else B)
    a, b = (a_store.T if ta else a_store), (b_store.T if tb else b_store)
    assert_matches(bp.matmul(A, B).numpy(), a, b, np.float64, f"{capability} {layout} {m}x{k}x{n}")


# ---- selection at import ---------------------------------------------------------------------


def run_child(env_value, code="import backprop; print(backprop.cpu_capability())"):
    env = dict(os.environ)
    if env_value is None:
        env.pop("BACKPROP_CPU_CAPABILITY", None)
    else:
        env["BACKPROP_CPU_CAPABILITY"] = env_value
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_cpu_capability_is_reported():
    assert bp.cpu_capability() in CAPABILITIES
    assert "default" in AVAILABLE


def test_default_choice_is_the_best_available():
    r = run_child(None)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == AVAILABLE[0]
    assert r.stderr == ""


@pytest.mark.parametrize("cap", CAPABILITIES)
def test_environment_forces_a_capability(cap):
    code = (
        "import numpy as np, backprop as bp\n"
        "a = np.random.default_rng(0).standard_normal((70, 90)).astype(np.float32)\n"
        "out = bp.matmul(bp.tensor(a), bp.tensor(a.T)).numpy()\n"
        "ref = a.astype(np.float64) @ a.T.astype(np.float64)\n"
        "assert np.max(np.abs(out - ref)) < 1e-3, np.max(np.abs(out - ref))\n"
        "print(bp.cpu_capability())\n"
    )
    r = run_child(cap.upper() if cap == "avx2" else cap, code)
    assert r.returncode == 0, r.stderr
    if cap in AVAILABLE:
        assert r.stdout.strip() == cap
        assert r.stderr == ""
    else:
        # a level the CPU lacks falls back to the best lesser one, saying why
        assert r.stdout.strip() in AVAILABLE
        assert "falling back" in r.stderr


def test_environment_unknown_value_warns_and_uses_the_best():
    r = run_child("sse9")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == AVAILABLE[0]
    assert "BACKPROP_CPU_CAPABILITY=sse9" in r.stderr


def test_setter_rejects_unknown_names():
    with pytest.raises(TypeError):
        _core._set_cpu_capability("avx9000")


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_matmul_broadcast_views_with_zero_strides(capability, dtype):
    """Expanded operands (stride 0 along one axis) are read in place, in both roles."""
    row, col = rand((70,), dtype, 24), rand((90, 1), dtype, 25)
    A = bp.tensor(row).expand(90, 70)  # every row the same: row stride 0
    B = bp.tensor(col).expand(90, 40)  # every column the same: column stride 0
    a, b = np.broadcast_to(row, (90, 70)), np.broadcast_to(col, (90, 40))
    assert_matches(bp.matmul(A, B[:70]).numpy(), a, b[:70], dtype, "expanded rows @ expanded cols")
    dense = rand((90, 33), dtype, 26)
    assert_matches(bp.matmul(A.t(), bp.tensor(dense)).numpy(), a.T, dense, dtype, "expanded.t() @ dense")
