"""Regression tests for crashes and silent wrong results once reachable from plain Python:
optimizer state against a replaced parameter, tensors a backward reads changed in place,
concurrent backward into a shared leaf, read-only and foreign NumPy memory, exact integers,
overflowing sizes, process-wide thread settings and long kernels that release the GIL."""

import sys
import threading

import numpy as np
import pytest

import backprop as bp
import backprop.nn.functional as F

OPTIMIZERS = {
    "SGD": lambda p: bp.optim.SGD([p], lr=0.1, momentum=0.9),
    "Adam": lambda p: bp.optim.Adam([p]),
    "AdamW": lambda p: bp.optim.AdamW([p]),
    "AdamAmsgrad": lambda p: bp.optim.Adam([p], amsgrad=True),
    "RMSprop": lambda p: bp.optim.RMSprop([p], momentum=0.5, centered=True),
    "NAdam": lambda p: bp.optim.NAdam([p], decoupled_weight_decay=True, weight_decay=0.1),
    "RAdam": lambda p: bp.optim.RAdam([p]),
    "Adamax": lambda p: bp.optim.Adamax([p]),
    "Adagrad": lambda p: bp.optim.Adagrad([p], initial_accumulator_value=0.1),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("replacement", ["bigger", "double"])
def test_optimizer_state_checked_against_replaced_parameter(name, replacement):
    p = bp.nn.Parameter(bp.randn(10))
    opt = OPTIMIZERS[name](p)
    p.sum().backward()
    opt.step()
    p.data = bp.randn(100000) if replacement == "bigger" else p.data.double()
    p.grad = None
    (p * p).sum().backward()
    before = p.detach().clone()
    with pytest.raises(RuntimeError, match="shape .* dtype|create a new optimizer"):
        opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), before.numpy())


def test_optimizer_after_data_replaced_fresh_optimizer_works():
    p = bp.nn.Parameter(bp.randn(10))
    p.data = bp.randn(20)
    opt = bp.optim.Adam([p])
    p.sum().backward()
    opt.step()
    assert p.shape == (20,)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("change", ["target_out_of_range", "target_in_range", "weight"])
def test_loss_inputs_changed_in_place_before_backward(loss, change):
    x = bp.randn(4, 5, requires_grad=True)
    t = bp.tensor([0, 1, 2, 3])
    w = bp.ones(5)
    fn = getattr(F, loss)
    out = fn(bp.log_softmax(x, 1) if loss == "nll_loss" else x, t, weight=w)
    if change == "target_out_of_range":
        t[0] = 10**9
    elif change == "target_in_range":
        t[0] = 4
    else:
        w.mul_(10)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_bce_weights_changed_in_place_before_backward():
    x = bp.randn(6, requires_grad=True)
    w, pw = bp.ones(6), bp.ones(6)
    out = F.binary_cross_entropy_with_logits(x, bp.rand(6), weight=w, pos_weight=pw)
    pw.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_dropout_mask_is_freed_after_backward():
    x = bp.randn(1000, requires_grad=True)
    y = F.dropout(x, 0.5, training=True).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_concurrent_backward_into_shared_leaf_loses_no_update():
    W = bp.zeros(10, requires_grad=True)

    def run():
        for _ in range(500):
            (W * 1.0).sum().backward()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert W.grad.numpy().tolist() == [1000.0] * 10


def test_concurrent_backward_with_retain_grad_on_shared_intermediate():
    W = bp.zeros(4, requires_grad=True)
    h = W * 2.0
    h.retain_grad()
    errors = []

    def run():
        try:
            for _ in range(200):
                (h * 1.0).sum().backward(retain_graph=True)
        except Exception as e:  # pragma: no cover - the assertion below reports it
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert h.grad.numpy().tolist() == [400.0] * 4
    assert W.grad.numpy().tolist() == [800.0] * 4


def _read_only_arrays(tmp_path):
    path = tmp_path / "m.bin"
    np.arange(4, dtype=np.float32).tofile(path)
    return {
        "broadcast_to": np.broadcast_to(np.ones(3, dtype=np.float32), (2, 3)),
        "memmap": np.memmap(path, dtype=np.float32, mode="r"),
        "frombuffer": np.frombuffer(b"\x00\x00\x80\x3f" * 4, dtype=np.float32),
    }


@pytest.mark.parametrize("kind", ["broadcast_to", "memmap", "frombuffer"])
def test_read_only_array_is_shared_but_never_written(kind, tmp_path):
    a = _read_only_arrays(tmp_path)[kind]
    before = np.array(a)
    t = bp.from_numpy(a)
    for write in (lambda: t.add_(1), lambda: t.mul_(2), lambda: t.fill_(0), lambda: t.zero_(),
                  lambda: t.copy_(bp.zeros(t.shape)), lambda: t.__setitem__(0, 5.0), lambda: t.clamp_(0, 0)):
        with pytest.raises(RuntimeError, match="read-only"):
            write()
    np.testing.assert_array_equal(np.asarray(a), before)
    np.testing.assert_array_equal((t + 1).numpy(), before + 1)
    assert not t.numpy().flags.writeable


def test_read_only_memory_refused_by_optimizer_and_load_state_dict():
    a = np.broadcast_to(np.ones(3, dtype=np.float32), (3,))
    p = bp.nn.Parameter(bp.from_numpy(a))
    p.grad = bp.ones(3)
    with pytest.raises(RuntimeError, match="read-only"):
        bp.optim.SGD([p], lr=0.1).step()
    lin = bp.nn.Linear(3, 1)
    lin.weight.data = bp.from_numpy(np.broadcast_to(np.zeros((1, 3), dtype=np.float32), (1, 3)))
    with pytest.raises(RuntimeError, match="read-only"):
        lin.load_state_dict({"weight": bp.ones(1, 3), "bias": bp.ones(1)})
    assert lin.bias.item() != 1.0  # the refusal came before any copy
    np.testing.assert_array_equal(a, np.ones(3))


def test_read_only_memory_exported_read_only():
    t = bp.from_numpy(np.broadcast_to(np.ones(3, dtype=np.float32), (3,)))
    assert not np.from_dlpack(t).flags.writeable
    assert not t.numpy().flags.writeable
    # The legacy capsule cannot carry a read-only flag, so its consumer gets a copy.
    legacy = bp.from_dlpack(t.__dlpack__())
    legacy.add_(1)
    np.testing.assert_array_equal(t.numpy(), np.ones(3))


def test_foreign_byte_order_and_values_that_do_not_fit():
    with pytest.raises(ValueError, match="byte order"):
        bp.from_numpy(np.ones(3, dtype=">f4"))
    with pytest.raises(ValueError, match="byte order"):
        bp.from_numpy(np.ones(2, dtype=">i8"))
    np.testing.assert_array_equal(bp.tensor(np.ones(3, dtype=">f4")).numpy(), np.ones(3))
    with pytest.raises(OverflowError):
        bp.tensor(np.array([2**64 - 1], np.uint64))
    assert bp.tensor(np.array([2**63 - 1], np.uint64)).item() == 2**63 - 1


def test_integer_item_is_exact():
    for v in (2**53 + 1, 2**63 - 1, -(2**63)):
        t = bp.tensor([v])
        assert t.item() == v and type(t.item()) is int
        assert int(t) == v and t.__index__() == v
    assert bp.tensor(True).item() is True
    assert int(bp.tensor(1e30, dtype=bp.float64)) == int(1e30)


def test_integer_errors_as_pytorch():
    with pytest.raises(RuntimeError, match="Integers to negative integer powers"):
        bp.tensor([2, 3]) ** -1
    with pytest.raises(RuntimeError, match="cannot be converted to type int64"):
        bp.full((2,), float("nan"), dtype=bp.int64)
    with pytest.raises(RuntimeError, match="cannot be converted to type int64"):
        bp.zeros(2, dtype=bp.int64).fill_(1e300)
    with pytest.raises(RuntimeError, match="logical_xor"):
        bp.tensor([True]) - bp.tensor([False])
    with pytest.raises(RuntimeError, match="logical_not"):
        -bp.tensor([True])
    assert (bp.tensor([2, 3]) ** 2).tolist() == [4, 9]


@pytest.mark.parametrize("shape", [(0, 2**62, 2**62), (2**40, 2**40), (2**62, 4)])
def test_overflowing_sizes_raise(shape):
    with pytest.raises(RuntimeError, match="overflow"):
        bp.zeros(*shape)


def test_arange_of_infinite_range_raises():
    with pytest.raises(ValueError, match="finite"):
        bp.arange(0, float("inf"))


def test_set_num_threads_is_process_wide():
    before = bp.get_num_threads()
    try:
        bp.set_num_threads(1)
        seen = []
        t = threading.Thread(target=lambda: seen.append(bp.get_num_threads()))
        t.start()
        t.join()
        assert seen == [1]
    finally:
        bp.set_num_threads(before)


def _runs_without_the_gil(fn, attempts=5):
    """True when another Python thread runs while fn() is inside C++: with a switch interval of
    minutes, the main thread can only wake from its wait while the worker is in fn() if fn()
    released the GIL; otherwise it wakes after fn() has returned. A busy machine may wake the
    main thread late, so a few attempts are allowed; a call that holds the GIL never overlaps."""
    return any(_overlaps_once(fn) for _ in range(attempts))


def _overlaps_once(fn):
    started, done = threading.Event(), threading.Event()

    def worker():
        started.set()
        fn()
        done.set()

    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        t = threading.Thread(target=worker)
        t.start()
        started.wait()
        overlapped = not done.is_set()
        t.join()
    finally:
        sys.setswitchinterval(old)
    return overlapped


@pytest.fixture(scope="module")
def long_calls():
    x = bp.randn(16_000_000)
    m = bp.randn(2000, 2000)
    logits, target = bp.randn(20000, 200), bp.randint(0, 200, (20000,))
    w = bp.randn(4_000_000, requires_grad=True)
    return {
        "exp": lambda: bp.exp(x),
        "tanh": lambda: bp.tanh(x),
        "softmax": lambda: bp.softmax(m, 1),
        "add": lambda: x + x,
        "sum": lambda: x.sum(),
        "cross_entropy": lambda: F.cross_entropy(logits, target),
        "matmul": lambda: m @ m,
        "backward": lambda: bp.exp(w).sum().backward(),
    }


@pytest.mark.parametrize("op", ["exp", "tanh", "softmax", "add", "sum", "cross_entropy", "matmul", "backward"])
def test_long_kernels_release_the_gil(op, long_calls):
    assert _runs_without_the_gil(long_calls[op])
