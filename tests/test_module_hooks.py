"""Module hooks (forward pre, forward, full backward) and removable tensor hooks, against PyTorch."""

import numpy as np
import pytest

import backprop as bp
from backprop import nn


def test_tensor_hook_returns_a_removable_handle():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]] and x.grad.tolist() == [30.0, 30.0]
    handle.remove()
    handle.remove()  # twice is harmless
    x.grad = None
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]] and x.grad.tolist() == [3.0, 3.0]
    y = x * 2
    with y.register_hook(lambda g: g * 0):
        pass  # removed on leaving the block
    y.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_forward_pre_hook_and_forward_hook_can_replace_args_and_output():
    lin = nn.Linear(2, 2)
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: calls.append("pre") or (args[0] * 0,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(("post", args[0].tolist())) or out + 1)
    out = lin(bp.ones(1, 2))
    assert calls == ["pre", ("post", [[0.0, 0.0]])]
    np.testing.assert_allclose(out.detach().numpy(), lin.bias.detach().numpy()[None] + 1, rtol=1e-6)
    h1.remove()
    h2.remove()
    np.testing.assert_allclose(lin(bp.ones(1, 2)).detach().numpy(),
                               (bp.ones(1, 2) @ lin.weight.t() + lin.bias).detach().numpy(), rtol=1e-6)
    assert calls == ["pre", ("post", [[0.0, 0.0]])]


def test_hooks_with_kwargs_and_prepend_order():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    order = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: order.append(("b", kwargs["factor"])), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: order.append("a"), prepend=True)
    assert m(bp.ones(1)).tolist() == [3.0]
    assert order == ["a", ("b", 3.0)]


def test_sequential_fused_path_does_not_bypass_layer_hooks():
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    x = bp.randn(5, 3)
    expected = net(x).detach().numpy()
    seen = {}
    net[1].register_forward_hook(lambda m, args, out: seen.update(relu=out.detach().numpy()))
    net[0].register_forward_pre_hook(lambda m, args: seen.update(lin_in=args[0].shape))
    np.testing.assert_allclose(net(x).detach().numpy(), expected, rtol=1e-6)
    assert seen["lin_in"] == (5, 3) and seen["relu"].shape == (5, 4) and (seen["relu"] >= 0).all()


def _full_backward_case(lib):
    lib.manual_seed(0)
    lin = lib.nn.Linear(3, 2).double()
    with lib.no_grad():
        lin.weight.copy_(lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], dtype=lib.float64))
        lin.bias.copy_(lib.tensor([0.1, -0.2], dtype=lib.float64))
    seen = []

    def hook(m, grad_input, grad_output):
        seen.append(([None if g is None else g.detach().numpy().copy() for g in grad_input],
                     [g.detach().numpy().copy() for g in grad_output]))
        return (grad_input[0] * 2,)

    lin.register_full_backward_hook(hook)
    x = lib.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], dtype=lib.float64, requires_grad=True)
    out = lin(x)
    (out * lib.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=lib.float64)).sum().backward()
    return seen, x.grad.detach().numpy(), lin.weight.grad.detach().numpy()


def test_full_backward_hook_matches_torch():
    torch = pytest.importorskip("torch")
    ours = _full_backward_case(bp)
    theirs = _full_backward_case(torch)
    assert len(ours[0]) == len(theirs[0]) == 1
    for a, b in zip(ours[0][0][0] + ours[0][0][1], theirs[0][0][0] + theirs[0][0][1]):
        np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(ours[1], theirs[1])  # doubled by the hook
    np.testing.assert_allclose(ours[2], theirs[2])


def test_full_backward_hook_without_input_grad_and_pre_hook():
    lin = nn.Linear(3, 2)
    seen = []
    lin.register_full_backward_pre_hook(lambda m, go: seen.append("pre") or (go[0] * 0,))
    handle = lin.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go[0].tolist())))
    lin(bp.ones(1, 3)).sum().backward()  # the input needs no gradient: grad_input is (None,)
    assert seen == ["pre", ((None,), [[0.0, 0.0]])]
    assert lin.weight.grad.abs().sum().item() == 0  # the pre-hook zeroed grad_output
    handle.remove()
    seen.clear()
    lin(bp.ones(1, 3)).sum().backward()
    assert seen == ["pre"]


def test_backward_hook_bad_return_is_explained():
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="returned 2 values for grad_input, expected 1"):
        lin(bp.ones(1, 2, requires_grad=True)).sum().backward()


def test_gradient_norms_per_layer_from_backward_hooks():
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    norms = {}
    for name, m in net.named_children():
        m.register_full_backward_hook(
            lambda m, gi, go, name=name: norms.__setitem__(name, float(go[0].detach().numpy().std())))
    net(bp.randn(6, 3, requires_grad=True)).sum().backward()
    assert sorted(norms) == ["0", "1", "2"]
