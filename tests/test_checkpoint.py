"""Gradient checkpointing and Python-defined autograd Functions."""

import numpy as np
import pytest

import backprop as bp
from backprop.utils import checkpoint


def _deep_net():
    bp.manual_seed(0)
    return [bp.nn.Linear(64, 64) for _ in range(32)]


def _run(layers, x, segments, use_checkpoint):
    for layer in layers:
        layer.zero_grad()
    x.grad = None

    def segment(part):
        def f(h):
            for layer in part:
                h = bp.tanh(layer(h))
            return h
        return f

    bp.reset_peak_memory_stats()
    base = bp.memory_stats()["bytes_in_use"]
    h = x
    size = len(layers) // segments
    for i in range(segments):
        f = segment(layers[i * size:(i + 1) * size])
        h = checkpoint(f, h) if use_checkpoint else f(h)
    h.sum().backward()
    peak = bp.memory_stats()["peak_bytes"] - base
    grads = [layer.weight.grad.numpy().copy() for layer in layers] + [x.grad.numpy().copy()]
    return grads, peak


def test_checkpoint_gives_identical_gradients_with_lower_peak_memory():
    layers = _deep_net()
    x = bp.randn(512, 64, requires_grad=True)
    plain, plain_peak = _run(layers, x, 8, use_checkpoint=False)
    ckpt, ckpt_peak = _run(layers, x, 8, use_checkpoint=True)
    for a, b in zip(plain, ckpt):
        np.testing.assert_array_equal(a, b)
    assert ckpt_peak < 0.7 * plain_peak, (ckpt_peak, plain_peak)


def test_checkpoint_replays_dropout_masks():
    bp.manual_seed(3)
    layer = bp.nn.Linear(20, 20)
    drop = bp.nn.Dropout(0.5)
    x = bp.randn(8, 20, requires_grad=True)

    def f(h):
        return drop(layer(h)).tanh()

    bp.manual_seed(11)
    f(x).sum().backward()
    plain = layer.weight.grad.numpy().copy()
    layer.zero_grad()
    bp.manual_seed(11)
    checkpoint(f, x).sum().backward()
    np.testing.assert_array_equal(plain, layer.weight.grad.numpy())


def test_checkpoint_inputs_without_grad_still_train_parameters():
    layer = bp.nn.Linear(3, 3)
    checkpoint(layer, bp.randn(2, 3)).sum().backward()
    assert layer.weight.grad is not None


class Cube(bp.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x ** 3 * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * grad * ctx.scale, None


def test_function_gradcheck_and_graph():
    x = bp.randn(4, dtype=bp.float64, requires_grad=True)
    assert bp.autograd.gradcheck(lambda t: Cube.apply(t, 2.0), (x,))
    y = Cube.apply(x, 2.0)
    assert y.grad_fn.name() == "CubeBackward"


def test_function_errors_propagate_as_python_exceptions():
    class Wrong(bp.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    class Raises(bp.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            raise KeyError("boom")

    x = bp.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Wrong.apply(x).sum().backward()
    with pytest.raises(KeyError, match="boom"):
        Raises.apply(x).sum().backward()
    y = Cube.apply(x, 1.0).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()
