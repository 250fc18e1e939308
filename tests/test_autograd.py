"""The engine and the Python autograd API: accumulation, retain_graph, hooks, grad modes, grad()."""

import gc
import threading

import numpy as np
import pytest

import backprop as bp


def test_seed_example():
    x = bp.tensor(1.0, requires_grad=True)
    y = x**2 + 3 * x
    y.backward()
    assert y.item() == 4.0
    assert x.grad.item() == 5.0
    assert x.grad.shape == ()


def test_gradients_accumulate_across_backward_calls():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    (3 * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    x.grad.zero_()
    x.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_accumulated_grad_is_not_aliased_to_the_incoming_gradient():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    g = bp.tensor([1.0, 1.0])
    (x * 1).backward(g)
    g.fill_(100.0)
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0])


def test_retain_graph_allows_second_backward():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).exp().sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)


def test_graph_is_freed_after_backward():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_backward_with_explicit_gradient():
    x = bp.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * x
    y.backward(gradient=bp.tensor([[1.0, 0.0], [0.5, 2.0]]))
    np.testing.assert_allclose(x.grad.numpy(), [[2.0, 0.0], [3.0, 16.0]])


def test_backward_gradient_as_number_and_list():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward(gradient=3.0)
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])
    x.grad = None
    (x * 2).backward([1.0, -1.0])
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -2.0])


def test_leaf_and_grad_fn_attributes():
    x = bp.ones(2, requires_grad=True)
    c = bp.ones(2)
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    assert c.is_leaf and not c.requires_grad
    y = x * 2
    assert not y.is_leaf and y.requires_grad
    assert y.grad_fn.name() == "MulBackward0"
    assert "MulBackward0" in repr(y)
    z = c * 2
    assert z.is_leaf and z.grad_fn is None and not z.requires_grad
    assert (y + 1).grad_fn.name() == "AddBackward0"
    assert y.grad_fn.next_functions[0][0].name() == "AccumulateGrad"


def test_non_leaf_grad_is_none_unless_retained():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    z = x * 4
    z.retain_grad()
    assert z.retains_grad and not y.retains_grad
    (y * y + z * z).sum().backward()
    assert y.grad is None
    np.testing.assert_allclose(z.grad.numpy(), [8.0, 16.0])
    np.testing.assert_allclose(x.grad.numpy(), 18 * np.array([1.0, 2.0]) + 32 * np.array([1.0, 2.0]))


def test_requires_grad_setters():
    x = bp.zeros(3)
    assert x.requires_grad_() is not None and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad
    y = bp.zeros(2, dtype=bp.float64).requires_grad_()
    assert y.requires_grad and y.dtype == bp.float64


def test_detach_shares_storage_and_leaves_graph():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    d[0] = 10.0
    assert y[0].item() == 10.0
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 4.0])


def test_register_hook_on_leaf_and_intermediate():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 3
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [30.0, 30.0])
    np.testing.assert_allclose(x.grad.numpy(), [30.0, 30.0])


def test_hook_returning_wrong_shape_raises():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: bp.ones(5))
    with pytest.raises(ValueError, match="hook"):
        y.sum().backward()


def test_no_grad_and_enable_grad():
    x = bp.ones(2, requires_grad=True)
    assert bp.is_grad_enabled()
    with bp.no_grad():
        assert not bp.is_grad_enabled()
        y = x * 2
        with bp.enable_grad():
            assert bp.is_grad_enabled()
            z = x * 2
        assert not bp.is_grad_enabled()
    assert bp.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_no_grad_as_decorator_and_restored_after_exception():
    @bp.no_grad()
    def f(t):
        return t * 2

    x = bp.ones(2, requires_grad=True)
    assert not f(x).requires_grad
    with pytest.raises(ZeroDivisionError):
        with bp.no_grad():
            1 / 0
    assert bp.is_grad_enabled()


def test_set_grad_enabled():
    with bp.set_grad_enabled(False):
        assert not bp.is_grad_enabled()
    assert bp.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = {}

    def worker():
        seen["enabled"] = bp.is_grad_enabled()
        x = bp.ones(2, requires_grad=True)
        seen["records"] = (x * 2).requires_grad

    with bp.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not bp.is_grad_enabled()
    assert seen == {"enabled": True, "records": True}


def test_autograd_grad_returns_tuple_and_leaves_grad_untouched():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = bp.tensor([3.0], requires_grad=True)
    out = (x * x).sum() * y.sum()
    gx, gy = bp.autograd.grad(out, [x, y])
    np.testing.assert_allclose(gx.numpy(), [6.0, 12.0])
    np.testing.assert_allclose(gy.numpy(), [5.0])
    assert x.grad is None and y.grad is None
    (g,) = bp.autograd.grad((x * 2).sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 2.0])


def test_autograd_grad_of_intermediate_and_grad_outputs():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    out = h * 3
    (gh,) = bp.autograd.grad(out, h, grad_outputs=bp.tensor([1.0, 2.0]), retain_graph=True)
    np.testing.assert_allclose(gh.numpy(), [3.0, 6.0])
    (gx,) = bp.autograd.grad(out, x, grad_outputs=bp.tensor([1.0, 2.0]))
    np.testing.assert_allclose(gx.numpy(), [6.0, 24.0])


def test_autograd_grad_allow_unused():
    x = bp.ones(2, requires_grad=True)
    unused = bp.ones(2, requires_grad=True)
    gx, gu = bp.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.numpy(), [2.0, 2.0])


def test_autograd_grad_multiple_outputs():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    (g,) = bp.autograd.grad([(x * x).sum(), (x * 3).sum()], [x])
    np.testing.assert_allclose(g.numpy(), [5.0, 7.0])


def test_autograd_backward_function():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    bp.autograd.backward([(x * x).sum(), (x * 3).sum()])
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0])


def test_diamond_graph_accumulates_both_paths():
    x = bp.tensor(2.0, requires_grad=True)
    a = x * 3
    b = a.exp()
    c = a * a
    (b + c).backward()
    np.testing.assert_allclose(x.grad.item(), 3 * np.exp(6.0) + 2 * 6 * 3, rtol=1e-5)


def test_same_tensor_used_twice_in_one_op():
    x = bp.tensor([1.5, -2.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, -4.0])


def test_saved_tensor_version_check_names_op_and_versions():
    x = bp.ones(3, requires_grad=True)
    u = x * 1
    s = u.exp()
    s.add_(1)  # s is saved by ExpBackward0
    with pytest.raises(RuntimeError, match=r"ExpBackward0.*version 1.*expected version 0"):
        s.sum().backward()


def test_inplace_on_unsaved_intermediate_is_fine():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)  # AddBackward of the in-place add; MulBackward saved only the constant
    (y * 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_inplace_ops_are_recorded():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y *= 3
    y += x
    y -= 1
    y /= 2
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])
    np.testing.assert_allclose(y.detach().numpy(), [1.5, 3.5])


def test_version_counter_bumps_on_inplace():
    t = bp.zeros(3)
    v = t._version()
    t.add_(1)
    t[0] = 2.0
    assert t._version() == v + 2


def test_chain_of_a_million_ops():
    x = bp.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    del y  # destroying the million-node graph must not recurse either
    gc.collect()


def test_deep_chain_without_backward_is_destroyed():
    x = bp.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(200_000):
        y = y + 1.0
    del y


def test_saved_tensors_and_graph_freed_after_backward():
    gc.collect()
    base = bp.memory_stats()["bytes_in_use"]
    x = bp.randn(10_000, requires_grad=True)
    y = (x.exp() * x).tanh().sigmoid()
    loss = (y * y).sum()
    during = bp.memory_stats()["bytes_in_use"]
    assert during >= base + 4 * 40_000  # x, and exp, tanh, sigmoid outputs saved for backward
    loss.backward()
    # Only x, x.grad and the scalar loss (plus y, which we still hold) remain.
    after = bp.memory_stats()["bytes_in_use"]
    assert after - base <= 3 * 40_000 + 64
    del x, y, loss
    gc.collect()
    assert bp.memory_stats()["bytes_in_use"] == base


def test_memory_stats_peak_and_reset():
    gc.collect()
    bp.reset_peak_memory_stats()
    start = bp.memory_stats()
    assert start["peak_bytes"] == start["bytes_in_use"]
    a = bp.zeros(250_000)  # 1 MB
    mid = bp.memory_stats()
    assert mid["bytes_in_use"] == start["bytes_in_use"] + 1_000_000
    assert mid["peak_bytes"] >= mid["bytes_in_use"]
    assert mid["allocations"] > start["allocations"]
    del a
    end = bp.memory_stats()
    assert end["bytes_in_use"] == start["bytes_in_use"]
    assert end["peak_bytes"] == mid["peak_bytes"]
    bp.reset_peak_memory_stats()
    assert bp.memory_stats()["peak_bytes"] == start["bytes_in_use"]


def test_no_graph_recorded_without_requires_grad():
    a = bp.ones(3)
    b = bp.ones(3)
    c = (a * b).exp()
    assert c.grad_fn is None and not c.requires_grad


def test_float32_gradients_stay_float32_through_float64_conversion():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * bp.tensor([2.0, 3.0], dtype=bp.float64)
    assert y.dtype == bp.float64
    y.sum().backward()
    assert x.grad.dtype == bp.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 3.0])


def test_broadcast_gradient_is_summed_back():
    x = bp.ones(3, 1, requires_grad=True)
    b = bp.ones(4, requires_grad=True)
    (x * b * 2).sum().backward()
    assert x.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 1), 8.0))
    np.testing.assert_allclose(b.grad.numpy(), np.full(4, 6.0))


def test_setitem_on_non_leaf_is_differentiable():
    x = bp.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y[1] = 0.0
    (y * bp.tensor([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 3.0])


def test_index_backward_scatter_adds_duplicates():
    x = bp.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_set_num_threads_roundtrip_and_results_independent_of_threads(rng):
    old = bp.get_num_threads()
    a = rng.normal(size=(200, 300))
    try:
        bp.set_num_threads(1)
        assert bp.get_num_threads() == 1
        one = (bp.tensor(a).exp() * 2).sum(1).numpy()
        bp.set_num_threads(2)
        assert bp.get_num_threads() == 2
        two = (bp.tensor(a).exp() * 2).sum(1).numpy()
    finally:
        bp.set_num_threads(old)
    np.testing.assert_allclose(one, two, rtol=1e-6)
