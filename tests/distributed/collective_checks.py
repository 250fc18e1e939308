"""Collectives on tensors, checked on every rank against NumPy applied to the inputs of all ranks.

The inputs of the other ranks are fetched with mpi4py's own pickle-based allgather, a path that
shares nothing with backprop.distributed. Each function takes the shared folder (unused here).
"""

import numpy as np
from mpi4py import MPI

import backprop as bp
import backprop.distributed as dist

WORLD = MPI.COMM_WORLD
DTYPES = [np.float32, np.float64, np.int64, np.bool_]
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}
Op = dist.ReduceOp


def _input(dtype, shape, salt):
    rng = np.random.default_rng(1000 * salt + WORLD.rank)
    if dtype is np.bool_:
        return rng.random(shape) < 0.5
    if dtype is np.int64:
        return rng.integers(-50, 50, size=shape)
    # Near 1, so that products over the ranks stay well scaled.
    return rng.uniform(0.5, 1.5, size=shape).astype(dtype)


def _expected(stack, op, dtype):
    if dtype is np.bool_:
        return stack.any(0) if op in (Op.SUM, Op.MAX) else stack.all(0)
    wide = stack.astype(np.float64) if dtype is np.float32 else stack
    result = {Op.SUM: wide.sum(0), Op.AVG: wide.mean(0) if dtype is not np.int64 else None, Op.PRODUCT: wide.prod(0),
              Op.MAX: wide.max(0), Op.MIN: wide.min(0)}[op]
    return result


def _assert_matches(got, want, dtype, what):
    assert got.dtype == np.dtype(dtype), f"{what}: dtype {got.dtype}, expected {np.dtype(dtype)}"
    if dtype in TOLERANCE:
        np.testing.assert_allclose(got, want, rtol=TOLERANCE[dtype], atol=0, err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)


def all_reduce_ops_and_dtypes(_dir):
    for salt, dtype in enumerate(DTYPES):
        for op in Op:
            if op is Op.AVG and dtype in (np.int64, np.bool_):
                t = bp.tensor(_input(dtype, (3, 4), salt))
                try:
                    dist.all_reduce(t, op=op)
                except TypeError as exc:
                    assert "AVG" in str(exc) and "floating" in str(exc), str(exc)
                else:
                    raise AssertionError(f"all_reduce AVG on {dtype} did not raise")
                continue
            mine = _input(dtype, (3, 4), salt)
            stack = np.stack(WORLD.allgather(mine))
            t = bp.tensor(mine)
            view = t.numpy()
            dist.all_reduce(t, op=op)
            _assert_matches(t.numpy(), _expected(stack, op, dtype), dtype, f"all_reduce {op} {dtype.__name__}")
            # The result is in the tensor's own storage, which a view taken before the call sees.
            np.testing.assert_array_equal(view, t.numpy())


def all_reduce_zero_copy_and_strided(_dir):
    t = bp.zeros(5, dtype=bp.float64)
    arr, write_back = dist._buffer(t)
    assert write_back is None and np.shares_memory(arr, t.numpy()), "a contiguous tensor must go to MPI uncopied"
    # A transposed (non-contiguous) tensor goes through a contiguous copy written back at the end.
    mine = _input(np.float64, (4, 3), 7)
    stack = np.stack(WORLD.allgather(mine))
    base = bp.tensor(mine.T.copy())
    strided = base.t()
    assert not strided.is_contiguous()
    dist.all_reduce(strided, op=Op.MAX)
    np.testing.assert_array_equal(strided.numpy(), stack.max(0))
    np.testing.assert_array_equal(base.numpy(), stack.max(0).T)
    # A parameter (requires grad) is reduced in place as well, as PyTorch allows.
    p = bp.nn.Parameter(bp.tensor(mine))
    dist.all_reduce(p, op=Op.SUM)
    np.testing.assert_allclose(p.detach().numpy(), stack.sum(0), rtol=1e-12)
    assert p.requires_grad


def async_ops(_dir):
    mine = _input(np.float64, (6,), 3)
    stack = np.stack(WORLD.allgather(mine))
    a, b = bp.tensor(mine), bp.tensor(mine)
    work_a = dist.all_reduce(a, op=Op.AVG, async_op=True)
    work_b = dist.broadcast(b, src=WORLD.size - 1, async_op=True)
    assert isinstance(work_a, dist.Work)
    assert work_b.wait() is True and work_a.wait() is True
    assert work_a.is_completed() and work_a.is_success()
    np.testing.assert_allclose(a.numpy(), stack.mean(0), rtol=1e-12)
    np.testing.assert_array_equal(b.numpy(), stack[-1])
    dist.barrier(async_op=True).wait()


def broadcast_dtypes(_dir):
    for salt, dtype in enumerate(DTYPES):
        for src in range(WORLD.size):
            mine = _input(dtype, (2, 3), salt + 10 * src)
            sent = WORLD.allgather(mine)[src]
            t = bp.tensor(mine)
            dist.broadcast(t, src=src)
            _assert_matches(t.numpy(), sent, dtype, f"broadcast from {src} {dtype.__name__}")


def all_gather_dtypes(_dir):
    n = WORLD.size
    for salt, dtype in enumerate(DTYPES):
        mine = _input(dtype, (2, 3), salt)
        stack = np.stack(WORLD.allgather(mine))
        outputs = [bp.tensor(np.zeros((2, 3), dtype=dtype)) for _ in range(n)]
        dist.all_gather(outputs, bp.tensor(mine))
        for r in range(n):
            _assert_matches(outputs[r].numpy(), stack[r], dtype, f"all_gather {dtype.__name__} entry {r}")
        flat = bp.tensor(np.zeros((2 * n, 3), dtype=dtype))
        dist.all_gather_into_tensor(flat, bp.tensor(mine))
        _assert_matches(flat.numpy(), np.concatenate(list(stack)), dtype, f"all_gather_into_tensor {dtype.__name__}")


def reduce_scatter_dtypes(_dir):
    n, r = WORLD.size, WORLD.rank
    for salt, dtype in enumerate(DTYPES):
        for op in (Op.SUM, Op.AVG, Op.MAX, Op.MIN):
            if op is Op.AVG and dtype in (np.int64, np.bool_):
                continue
            mine = _input(dtype, (n, 2, 3), salt)
            stack = np.stack(WORLD.allgather(mine))  # (ranks, blocks, 2, 3)
            want = _expected(stack, op, dtype)[r]
            out = bp.tensor(np.zeros((2, 3), dtype=dtype))
            dist.reduce_scatter(out, [bp.tensor(block) for block in mine], op=op)
            _assert_matches(out.numpy(), want, dtype, f"reduce_scatter {op} {dtype.__name__}")
            out = bp.tensor(np.zeros((2, 3), dtype=dtype))
            dist.reduce_scatter_tensor(out, bp.tensor(mine.reshape(2 * n, 3)), op=op)
            _assert_matches(out.numpy(), want, dtype, f"reduce_scatter_tensor {op} {dtype.__name__}")


def objects_and_group_queries(_dir):
    n, r = WORLD.size, WORLD.rank
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    assert (dist.get_rank(), dist.get_world_size()) == (r, n)
    gathered = [None] * n
    dist.all_gather_object(gathered, {"rank": r, "name": "x" * r})
    assert gathered == [{"rank": i, "name": "x" * i} for i in range(n)]
    items = [r, "mine"] if r == 0 else [None, None]
    dist.broadcast_object_list(items, src=0)
    assert items == [0, "mine"]


def bad_arguments_raise_before_communicating(_dir):
    n = WORLD.size
    cases = [
        (lambda: dist.all_reduce(np.zeros(3)), TypeError, "backprop Tensor"),
        (lambda: dist.all_reduce(bp.zeros(3), op="sum"), TypeError, "ReduceOp"),
        (lambda: dist.broadcast(bp.zeros(3), src=n), ValueError, "src"),
        (lambda: dist.all_gather([bp.zeros(3)] * (n + 1), bp.zeros(3)), ValueError, f"world_size={n}"),
        (lambda: dist.all_gather([bp.zeros(4)] * n, bp.zeros(3)), ValueError, "shape"),
        (lambda: dist.all_gather_into_tensor(bp.zeros(3 * n + 1), bp.zeros(3)), ValueError, "times the elements"),
        (lambda: dist.reduce_scatter_tensor(bp.zeros(2), bp.zeros(2 * n, dtype=bp.float64)), ValueError, "dtype"),
        (lambda: dist.init_process_group(), ValueError, "twice"),
    ]
    for fn, kind, words in cases:
        try:
            fn()
        except kind as exc:
            assert words in str(exc), f"{kind.__name__} without '{words}': {exc}"
        else:
            raise AssertionError(f"expected {kind.__name__} mentioning '{words}'")
    dist.barrier()  # every rank is still in step after the refusals
