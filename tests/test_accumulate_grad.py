"""AccumulateGrad takes over a gradient buffer nobody else holds, adds in place into a .grad
nobody else holds, and copies otherwise: no reference a user, a hook or another leaf keeps is
ever changed behind its back, and the values are those of plain accumulation."""

import numpy as np

import backprop as bp


def _linear_step(lin, x):
    lin(x).sum().backward()


def _allocations_of_backward(w, x, keep_incoming):
    kept = []
    if keep_incoming:
        w.register_hook(lambda g: kept.append(g))
    w.grad = None
    loss = (x @ w).sum()
    before = bp.memory_stats()["allocations"]
    loss.backward()
    return bp.memory_stats()["allocations"] - before


def test_first_gradient_takes_over_the_incoming_buffer():
    x = bp.randn(16, 64)
    free = _allocations_of_backward(bp.randn(64, 32, requires_grad=True), x, keep_incoming=False)
    # A hook that keeps the incoming gradient forces AccumulateGrad to copy it.
    held = _allocations_of_backward(bp.randn(64, 32, requires_grad=True), x, keep_incoming=True)
    assert free == held - 1
    w = bp.randn(64, 32, requires_grad=True)
    (x @ w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.repeat(x.numpy().sum(0)[:, None], 32, 1), rtol=1e-5)


def test_second_backward_adds_in_place_when_nobody_holds_grad():
    w = bp.randn(8, 4, requires_grad=True)
    x = bp.randn(5, 8)
    (x @ w).sum().backward()
    ptr = w.grad.data_ptr()
    (x @ w).sum().backward()
    assert w.grad.data_ptr() == ptr
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.repeat(x.numpy().sum(0)[:, None], 4, 1), rtol=1e-5)


def test_a_kept_reference_to_grad_is_never_changed():
    w = bp.randn(8, 4, requires_grad=True)
    x = bp.randn(5, 8)
    (x @ w).sum().backward()
    kept = w.grad
    first = kept.numpy().copy()
    (x @ w).sum().backward()
    np.testing.assert_array_equal(kept.numpy(), first)
    np.testing.assert_allclose(w.grad.numpy(), 2 * first, rtol=1e-6)


def test_gradient_shared_by_two_leaves_is_copied_for_the_first():
    a = bp.zeros(4, requires_grad=True)
    b = bp.zeros(4, requires_grad=True)
    (a + b).sum().backward()
    (a + b).sum().backward()
    assert a.grad.numpy().tolist() == [2.0] * 4
    assert b.grad.numpy().tolist() == [2.0] * 4
    assert a.grad.data_ptr() != b.grad.data_ptr()


def test_caller_gradient_and_hook_references_stay_unchanged():
    leaf = bp.zeros(3, requires_grad=True)
    seed = bp.ones(3)
    leaf.backward(seed)
    leaf.backward(seed)
    assert seed.numpy().tolist() == [1.0] * 3
    assert leaf.grad.numpy().tolist() == [2.0] * 3

    seen = []
    p = bp.zeros(3, requires_grad=True)
    p.register_hook(lambda g: seen.append(g))
    (p * 2.0).sum().backward()
    (p * 2.0).sum().backward()
    assert [g.numpy().tolist() for g in seen] == [[2.0] * 3, [2.0] * 3]
    assert p.grad.numpy().tolist() == [4.0] * 3


def test_broadcast_gradients_are_materialised():
    p = bp.zeros(2, 3, requires_grad=True)
    p.sum().backward()
    p.sum().backward()
    assert p.grad.numpy().tolist() == [[2.0] * 3] * 2


def test_training_matches_plain_accumulation():
    bp.manual_seed(0)
    lin = bp.nn.Linear(6, 3)
    x = bp.randn(4, 6)
    for _ in range(3):
        _linear_step(lin, x)
    expected_w = 3 * np.repeat(x.numpy().sum(0)[None, :], 3, 0)
    np.testing.assert_allclose(lin.weight.grad.numpy(), expected_w, rtol=1e-5)
    np.testing.assert_allclose(lin.bias.grad.numpy(), [12.0] * 3, rtol=1e-6)
