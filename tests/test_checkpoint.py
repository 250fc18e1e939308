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


def test_checkpoint_with_several_outputs_recomputes_once_with_identical_gradients():
    bp.manual_seed(4)
    l1, l2 = bp.nn.Linear(6, 6), bp.nn.Linear(6, 6)
    x = bp.randn(5, 6, requires_grad=True)
    calls = []

    def f(h, scale):
        calls.append(1)
        a = l1(h).tanh()
        return a * scale, l2(a).sigmoid(), bp.argmax(a, dim=1), "tag"

    def run(use_checkpoint):
        for p in [*l1.parameters(), *l2.parameters(), x]:
            p.grad = None
        out = checkpoint(f, x, 2.0) if use_checkpoint else f(x, 2.0)
        assert isinstance(out, tuple) and out[3] == "tag" and out[2].dtype == bp.int64
        (out[0].sum() + (out[1] * out[1]).sum()).backward()
        return [p.grad.numpy().copy() for p in [*l1.parameters(), *l2.parameters(), x]]

    plain = run(False)
    calls.clear()
    ckpt = run(True)
    assert len(calls) == 2  # the forward, then one recomputation for both outputs
    for a, b in zip(plain, ckpt):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_under_no_grad_just_runs_the_function():
    layer = bp.nn.Linear(3, 3)
    with bp.no_grad():
        out = checkpoint(layer, bp.randn(2, 3))
    assert not out.requires_grad and out.grad_fn is None


def test_checkpointed_model_trains_like_the_plain_one():
    """A Module whose forward checkpoints its blocks: same losses as the plain model over steps."""

    class Net(bp.nn.Module):
        def __init__(self, use_checkpoint):
            super().__init__()
            self.blocks = bp.nn.ModuleList(
                [bp.nn.Sequential(bp.nn.Linear(8, 8), bp.nn.GELU(), bp.nn.Dropout(0.2)) for _ in range(4)])
            self.head = bp.nn.Linear(8, 3)
            self.use_checkpoint = use_checkpoint

        def forward(self, x):
            for block in self.blocks:
                x = checkpoint(block, x) if self.use_checkpoint else block(x)
            return self.head(x)

    bp.manual_seed(0)
    plain = Net(False)
    ckpt = Net(True)
    ckpt.load_state_dict(plain.state_dict())
    opts = [bp.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (plain, ckpt)]
    x, y = bp.randn(16, 8), bp.randint(0, 3, (16,))
    for step in range(5):
        losses = []
        for model, opt in zip((plain, ckpt), opts):
            bp.manual_seed(100 + step)  # the same dropout masks in both runs
            opt.zero_grad()
            loss = bp.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[0] == losses[1]
    for p, q in zip(plain.parameters(), ckpt.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
