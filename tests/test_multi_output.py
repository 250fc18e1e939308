"""Nodes with several outputs: unbind/split/chunk as one node, Python Functions returning tuples,
checkpointing several outputs, hooks and next_functions on output k of a node."""

import collections

import numpy as np
import pytest

import backprop as bp
from backprop.autograd import Function, gradcheck
from backprop.utils import checkpoint


# ---- unbind / split / chunk ----------------------------------------------------------------------

def _bytes_allocated_by_backward(rows):
    x = bp.zeros(rows, 16, dtype=bp.float64, requires_grad=True)
    pieces = x.unbind(0)
    total = pieces[0]
    for p in pieces[1:]:
        total = total + p
    loss = total.sum()
    before = bp.memory_stats()["allocated_bytes"]
    loss.backward()
    used = bp.memory_stats()["allocated_bytes"] - before
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((rows, 16)))
    return used


def test_unbind_backward_allocates_linearly_in_rows():
    # One slice node per row would allocate a full-size zero gradient per row: ratio 100.
    small, large = _bytes_allocated_by_backward(1000), _bytes_allocated_by_backward(10000)
    assert small > 0
    assert 5 < large / small < 20, (small, large)


def test_pieces_share_one_node_and_know_their_slot():
    x = bp.randn(4, 3, requires_grad=True)
    pieces = x.split(1)
    assert pieces[0].grad_fn is pieces[3].grad_fn
    assert all(p.grad_fn.name() == "SplitBackward0" for p in pieces)
    assert x.split([1, 3])[0].grad_fn.name() == "SplitWithSizesBackward0"
    assert x.chunk(2, 1)[0].grad_fn.name() == "SplitBackward0"
    assert x.unbind(1)[2].grad_fn.name() == "UnbindBackward0"
    rows = list(x)  # iteration unbinds
    assert len(rows) == 4 and rows[0].grad_fn.name() == "UnbindBackward0"
    node, slot = (pieces[2] * 2).grad_fn.next_functions[0]
    assert node.name() == "SplitBackward0" and slot == 2
    assert x.unbind(0)[0].grad_fn.next_functions[0][0].name() == "AccumulateGrad"


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: bp.stack([p * (i + 1) for i, p in enumerate(x.unbind(1))], 0),
        lambda x: x.unbind(-1)[1].exp(),  # the other pieces get no gradient
        lambda x: bp.cat([q * q for q in reversed(x.split(2, 0))], 0),
        lambda x: bp.cat(x.split([1, 3, 1], 0)[1:], 0) * 3,
        lambda x: x.chunk(2, 1)[0] * x.chunk(2, 1)[1],
        lambda x: sum(p.sin() for p in x),
    ],
)
def test_piece_gradients_match_finite_differences(fn):
    bp.manual_seed(5)
    x = bp.randn(5, 4, dtype=bp.float64, requires_grad=True)
    assert gradcheck(fn, (x,))


def test_piece_gradients_match_torch():
    torch = pytest.importorskip("torch")
    data = np.random.default_rng(0).standard_normal((6, 5))
    x = bp.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)

    def loss(lib, v):
        a = lib.unbind(v, 1)
        b = lib.split(v, 4, 0)
        c = lib.chunk(v, 3, 1)
        d = v.split([2, 1, 3])
        return (a[0] * a[3]).sum() + (b[1] ** 2).sum() + (c[2].exp()).sum() + (d[0].sum() * d[2].mean())

    loss(bp, x).backward()
    loss(torch, t).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)
    for args in [(2, 0), ((1, 5), 0), (3, 1)]:
        ours = [p.shape for p in x.split(*args)]
        theirs = [tuple(p.shape) for p in t.split(*args)]
        assert ours == theirs
    for n in (1, 2, 4, 5, 7):
        assert [p.shape for p in x.chunk(n, 1)] == [tuple(p.shape) for p in t.chunk(n, 1)]


def test_split_errors_name_the_op():
    x = bp.zeros(6)
    with pytest.raises(ValueError, match="split_with_sizes: split sizes sum to 5"):
        x.split([2, 3])
    with pytest.raises(ValueError, match="split_size must be positive"):
        x.split(0)
    with pytest.raises(ValueError, match="chunk: chunks must be positive"):
        x.chunk(0)
    with pytest.raises(IndexError, match="unbind"):
        x.unbind(1)


def test_hook_and_retain_grad_on_output_k():
    x = bp.arange(6.0).reshape(3, 2).requires_grad_()
    a, b, c = x.unbind(0)
    seen = []
    b.register_hook(lambda g: seen.append(g.numpy().copy()))
    c.register_hook(lambda g: g * 10)  # replaces only c's gradient
    a.retain_grad()
    (a * 1 + b * 2 + c * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [2.0, 2.0])
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1], [2, 2], [30, 30]])


def test_grad_with_respect_to_one_piece():
    x = bp.randn(3, 2, requires_grad=True)
    a, b, c = x.unbind(0)
    (gb,) = bp.autograd.grad((a * 2 + b * 5 + c).sum(), b)
    np.testing.assert_array_equal(gb.numpy(), [5.0, 5.0])


# ---- autograd.Function with several outputs --------------------------------------------------------

class ThreeWay(Function):
    calls = 0

    @staticmethod
    def forward(ctx, x, y, scale):
        ctx.save_for_backward(x, y)
        ctx.scale = scale
        return x * y, x.sin() * scale, y ** 2

    @staticmethod
    def backward(ctx, g_prod, g_sin, g_sq):
        ThreeWay.calls += 1
        x, y = ctx.saved_tensors
        gx = g_prod * y + g_sin * x.cos() * ctx.scale
        gy = g_prod * x + g_sq * 2 * y
        return gx, gy, None


def test_three_output_function_runs_backward_once():
    x = bp.randn(4, requires_grad=True)
    y = bp.randn(4, requires_grad=True)
    p, s, q = ThreeWay.apply(x, y, 3.0)
    assert p.grad_fn is s.grad_fn is q.grad_fn
    assert p.grad_fn.name() == "ThreeWayBackward"
    ThreeWay.calls = 0
    (p.sum() + (s * s).sum() + q.mean()).backward()
    assert ThreeWay.calls == 1
    xs, ys = x.detach().numpy(), y.detach().numpy()
    np.testing.assert_allclose(x.grad.numpy(), ys + 2 * np.sin(xs) * 3 * np.cos(xs) * 3, rtol=1e-5)
    np.testing.assert_allclose(y.grad.numpy(), xs + 2 * ys / 4, rtol=1e-5)


def test_three_output_function_matches_finite_differences():
    bp.manual_seed(2)
    x = bp.randn(3, dtype=bp.float64, requires_grad=True)
    y = bp.randn(3, dtype=bp.float64, requires_grad=True)
    assert gradcheck(lambda a, b: ThreeWay.apply(a, b, 1.5), (x, y))


class Pair(Function):
    seen = None

    @staticmethod
    def forward(ctx, x, materialize):
        ctx.set_materialize_grads(materialize)
        ctx.needs = ctx.needs_input_grad
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        Pair.seen = (g1, g2)
        grad = g1 * 2 if g1 is not None else None
        if g2 is not None:
            grad = g2 * 3 if grad is None else grad + g2 * 3
        return grad, None


def test_materialize_grads_off_gives_none_for_unused_outputs():
    x = bp.ones(3, requires_grad=True)
    a, _ = Pair.apply(x, False)
    a.sum().backward()
    assert Pair.seen[1] is None
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    x.grad = None
    a, _ = Pair.apply(x, True)
    a.sum().backward()
    np.testing.assert_array_equal(Pair.seen[1].numpy(), [0.0, 0.0, 0.0])  # zeros by default
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])


def test_needs_input_grad():
    x, y = bp.ones(2, requires_grad=True), bp.ones(2)
    ctxs = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b, k):
            ctxs.append(ctx.needs_input_grad)
            return a * b * k

        @staticmethod
        def backward(ctx, g):
            return g, None, None

    Probe.apply(x, y, 2)
    assert ctxs[0] == (True, False, False)


class SortWithIndex(Function):
    seen = None

    @staticmethod
    def forward(ctx, x):
        values = x * 1
        order = (x * 0).detach()  # a float tensor the caller must not differentiate
        ctx.mark_non_differentiable(order)
        return values, order, bp.argmax(x)

    @staticmethod
    def backward(ctx, g_values, g_order, g_index):
        SortWithIndex.seen = (g_order, g_index)
        return g_values


def test_mark_non_differentiable():
    x = bp.randn(4, requires_grad=True)
    values, order, index = SortWithIndex.apply(x)
    assert values.requires_grad
    assert not order.requires_grad and order.grad_fn is None
    assert not index.requires_grad
    (values * 2).sum().backward()
    g_order, g_index = SortWithIndex.seen
    np.testing.assert_array_equal(g_order.numpy(), np.zeros(4))  # materialized as zeros
    np.testing.assert_array_equal(g_index.numpy(), 0)
    np.testing.assert_array_equal(x.grad.numpy(), np.full(4, 2.0))


def test_saved_tensors_are_version_checked():
    x = bp.randn(3, requires_grad=True)
    y = x * 1
    p, s, q = ThreeWay.apply(y, x, 1.0)
    with bp.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        p.sum().backward()


def test_save_for_backward_rejects_non_tensors():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 1

    with pytest.raises(TypeError, match="save_for_backward"):
        Bad.apply(bp.ones(1, requires_grad=True))


def test_function_outputs_vs_torch():
    torch = pytest.importorskip("torch")

    def make(lib):
        class Split2(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x.exp(), x * x

            @staticmethod
            def backward(ctx, g1, g2):
                (x,) = ctx.saved_tensors
                return g1 * x.exp() + g2 * 2 * x

        return Split2

    data = np.linspace(-1, 1, 5)
    x, t = bp.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    a, b = make(bp).apply(x)
    c, d = make(torch).apply(t)
    ((a * 3).sum() + (b * b).sum()).backward()
    ((c * 3).sum() + (d * d).sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12)


# ---- checkpoint with several outputs ---------------------------------------------------------------

Out = collections.namedtuple("Out", "h aux label")


@pytest.mark.parametrize("kind", ["tuple", "list", "namedtuple"])
def test_checkpoint_outputs_are_the_segment_outputs(kind):
    bp.manual_seed(9)
    layer = bp.nn.Linear(5, 5)
    x = bp.randn(3, 5, requires_grad=True)
    calls = []

    def f(h):
        calls.append(1)
        a = layer(h).tanh()
        parts = (a * 2, a.sum(1), "label")
        return {"tuple": tuple, "list": list, "namedtuple": lambda p: Out(*p)}[kind](parts)

    def run(use_checkpoint):
        layer.zero_grad()
        x.grad = None
        out = checkpoint(f, x) if use_checkpoint else f(x)
        ((out[0] ** 2).sum() + out[1].sum()).backward()
        return out, [p.grad.numpy().copy() for p in [layer.weight, layer.bias, x]]

    plain_out, plain = run(False)
    calls.clear()
    ckpt_out, ckpt = run(True)
    assert len(calls) == 2  # forward, then one recompute for both outputs
    assert type(ckpt_out) is type(plain_out)
    assert ckpt_out[2] == "label"
    for a, b in zip(plain_out[:2], ckpt_out[:2]):
        assert a.shape == b.shape
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert ckpt_out[0].grad_fn is not None
    for a, b in zip(plain, ckpt):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_output_left_unused_gets_no_gradient():
    layer = bp.nn.Linear(4, 4)
    x = bp.randn(2, 4, requires_grad=True)
    a, b = checkpoint(lambda h: (layer(h), (h * 3).sum()), x)
    a.sum().backward()
    expected = layer.weight.detach().numpy().sum(0)[None, :].repeat(2, 0)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)
