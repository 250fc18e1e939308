"""Large buffers freed by one step are reused by the next: a training loop allocates the same
sizes every iteration, and memory handed back to the OS would be faulted in again page by page."""

import numpy as np

import backprop as bp


def test_a_freed_large_buffer_serves_the_next_tensor_of_its_size():
    a = bp.empty(1 << 20)
    ptr = a.data_ptr()
    del a
    b = bp.empty(1 << 20)
    assert b.data_ptr() == ptr


def test_a_reused_buffer_is_not_shared_by_two_live_tensors():
    a = bp.ones(1 << 20)
    b = bp.zeros(1 << 20)
    assert a.data_ptr() != b.data_ptr()
    del a
    c = bp.full((1 << 20,), 3.0)
    assert c.data_ptr() != b.data_ptr()
    assert float(b.sum()) == 0.0 and float(c.sum()) == 3.0 * (1 << 20)


def test_training_steps_reuse_their_buffers_and_compute_the_same_values():
    x = bp.randn(300_000, dtype=bp.float64, requires_grad=True)
    grads = []
    for _ in range(3):
        x.grad = None
        bp.exp(x).sum().backward()
        grads.append(x.grad.numpy().copy())
    np.testing.assert_allclose(grads[0], np.exp(x.detach().numpy()), rtol=1e-14)
    np.testing.assert_array_equal(grads[1], grads[2])
    # In use counts live tensors only: idle buffers kept for reuse are not in use.
    before = bp.memory_stats()["bytes_in_use"]
    y = bp.empty(1 << 20)
    assert bp.memory_stats()["bytes_in_use"] - before == y.numel() * 4
    del y
    assert bp.memory_stats()["bytes_in_use"] == before


def test_large_buffers_start_on_a_page_so_outputs_never_trail_their_inputs_by_a_few_bytes():
    # An output a little past its input modulo 4 KiB makes each load wait on the store before it
    # (4K aliasing); every buffer from 64 KiB on starts at offset 0 of a page.
    sizes = [16_384, 100_000, 1 << 20, 3_000_001]
    held = [bp.empty(n) for n in sizes for _ in range(3)]
    assert all(t.data_ptr() % 4096 == 0 for t in held)
    x = bp.tensor(np.linspace(-1, 1, 100_000, dtype=np.float32))
    assert bp.exp(x).data_ptr() % 4096 == x.data_ptr() % 4096 == 0
    small = bp.empty(100)
    assert small.data_ptr() % 64 == 0
