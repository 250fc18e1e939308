"""nn.init: PyTorch's gain and fan rules, in place, from the seeded generator."""

import math

import numpy as np
import pytest

import backprop as bp

init = bp.nn.init


def test_calculate_gain_matches_torch():
    torch = pytest.importorskip("torch")
    for name, param in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


@pytest.mark.parametrize("fn,expected_std", [
    (lambda t: init.xavier_uniform_(t), math.sqrt(2.0 / (200 + 300))),
    (lambda t: init.xavier_normal_(t, gain=2.0), 2.0 * math.sqrt(2.0 / (200 + 300))),
    (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2.0) / math.sqrt(200)),
    (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2.0) / math.sqrt(300)),
    (lambda t: init.normal_(t, 1.0, 0.5), 0.5),
    (lambda t: init.uniform_(t, -2.0, 2.0), 4.0 / math.sqrt(12)),
])
def test_initialisers_have_the_right_spread(fn, expected_std):
    bp.manual_seed(0)
    t = bp.nn.Parameter(bp.zeros(300, 200))
    out = fn(t)
    assert out is t
    values = t.detach().numpy()
    assert abs(values.std() - expected_std) < 0.03 * expected_std


def test_constant_inits_and_seeding():
    t = bp.nn.Parameter(bp.empty(3, 4))
    init.constant_(t, 2.5)
    assert np.all(t.detach().numpy() == 2.5)
    init.zeros_(t)
    assert np.all(t.detach().numpy() == 0)
    init.ones_(t)
    assert np.all(t.detach().numpy() == 1)
    bp.manual_seed(7)
    a = init.normal_(bp.empty(5)).numpy().copy()
    bp.manual_seed(7)
    b = init.normal_(bp.empty(5)).numpy()
    np.testing.assert_array_equal(a, b)


def test_fan_needs_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(bp.empty(5))


@pytest.mark.parametrize("shape", [(30, 20), (16, 8, 3), (8, 4, 3, 3)])
@pytest.mark.parametrize("name,kwargs,kind", [
    ("xavier_uniform_", dict(gain=1.5), "uniform"),
    ("xavier_normal_", dict(), "normal"),
    ("kaiming_uniform_", dict(a=math.sqrt(5)), "uniform"),
    ("kaiming_uniform_", dict(mode="fan_out", nonlinearity="relu"), "uniform"),
    ("kaiming_normal_", dict(nonlinearity="leaky_relu", a=0.1), "normal"),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="tanh"), "normal"),
])
def test_initialiser_spread_matches_torch(shape, name, kwargs, kind):
    """Fans include the receptive field (dims 2+), gains follow calculate_gain: same spread as torch."""
    torch = pytest.importorskip("torch")
    bp.manual_seed(0)
    torch.manual_seed(0)
    ours = bp.nn.Parameter(bp.zeros(*shape, dtype=bp.float64))
    theirs = torch.nn.Parameter(torch.zeros(*shape, dtype=torch.float64))
    assert getattr(init, name)(ours, **kwargs) is ours
    getattr(torch.nn.init, name)(theirs, **kwargs)
    assert ours.requires_grad and ours.is_leaf and ours.grad_fn is None and ours.dtype == bp.float64
    a, b = ours.detach().numpy().ravel(), theirs.detach().numpy().ravel()
    if kind == "uniform":
        # Same bound: the largest draws of both libraries sit just below it.
        assert 0.9 * np.abs(b).max() <= np.abs(a).max() <= 1.05 * np.abs(b).max()
    target = b.std()  # torch's empirical spread; ours must agree within 5 standard errors of each
    se = target / np.sqrt(a.size)
    assert abs(a.std() - b.std()) < 5 * np.sqrt(2) * (0.45 if kind == "uniform" else 0.71) * se
    assert abs(a.mean()) < 5 * se


def test_fans_match_torch():
    torch = pytest.importorskip("torch")
    from backprop.nn.init import _calculate_fan_in_and_fan_out

    for shape in [(5, 3), (4, 3, 7), (8, 2, 3, 3), (1, 1)]:
        assert _calculate_fan_in_and_fan_out(bp.zeros(*shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


def test_init_errors_and_edge_cases():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(bp.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", True)
    empty = bp.zeros(0, 3)
    assert init.kaiming_uniform_(empty) is empty  # a zero-element tensor is left alone
    w = bp.nn.Parameter(bp.zeros(4, 4))
    init.uniform_(w, 2.0, 3.0)
    values = w.detach().numpy()
    assert values.min() >= 2.0 and values.max() < 3.0
    out = (w * 2).sum()  # still an ordinary leaf: the initialisation recorded no graph
    out.backward()
    assert w.grad is not None and w.grad.tolist() == [[2.0] * 4] * 4
