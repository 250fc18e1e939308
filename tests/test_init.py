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
