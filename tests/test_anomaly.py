"""Anomaly detection: a NaN or infinity in backward is named with the forward line that made it."""

import pytest

import backprop as bp
from backprop import nn
from backprop.autograd import detect_anomaly, is_anomaly_enabled, set_detect_anomaly


@pytest.fixture(autouse=True)
def _anomaly_off_after():
    yield
    bp._core._set_detect_anomaly(False, True)


class Net(nn.Module):
    def __init__(self, last):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.last = last

    def forward(self, x):
        h = self.fc(x).relu()
        return self.last(h).sum()


def _backward_error(net, x):
    with pytest.raises(RuntimeError) as info:
        net(x).backward()
    return str(info.value)


def test_log_of_zero_is_named_with_its_forward_line():
    net = Net(lambda h: bp.log(h * 0))  # the line the message must show
    with detect_anomaly():
        msg = _backward_error(net, bp.randn(2, 3))
    assert "Function 'LogBackward0' returned inf values in its 0th output" in msg
    assert "lambda h: bp.log(h * 0))  # the line the message must show" in msg
    assert "test_anomaly.py" in msg


def test_sqrt_of_zero_and_overflowing_exp_are_found():
    with detect_anomaly():
        msg = _backward_error(Net(lambda h: bp.sqrt(h * 0)), bp.randn(2, 3))
    assert "'SqrtBackward0' returned inf" in msg and "bp.sqrt(h * 0)" in msg
    # exp(1000) is inf in forward; its backward turns inf * 0 into NaN in the gradient of MulBackward0's input.
    x = bp.tensor([1000.0, 1.0], requires_grad=True)
    with detect_anomaly():
        y = bp.exp(x)
        z = (y * 0).sum()
        with pytest.raises(RuntimeError, match=r"'ExpBackward0' returned nan values") as info:
            z.backward()
    assert "y = bp.exp(x)" in str(info.value)


def test_off_by_default_and_nan_passes_silently_when_off():
    assert not is_anomaly_enabled()
    x = bp.tensor([0.0, 1.0], requires_grad=True)
    bp.log(x).sum().backward()
    assert x.grad.tolist()[0] == float("inf")
    assert x.grad_fn is None and (bp.log(x)).grad_fn._forward_trace == ""


def test_nodes_made_before_anomaly_mode_say_they_have_no_trace():
    x = bp.tensor([0.0], requires_grad=True)
    y = bp.log(x).sum()
    with detect_anomaly():
        with pytest.raises(RuntimeError, match="created outside anomaly mode"):
            y.backward()


def test_set_detect_anomaly_and_decorator_restore_the_mode():
    with set_detect_anomaly(True):
        assert is_anomaly_enabled()
        with set_detect_anomaly(False):
            assert not is_anomaly_enabled()
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()

    @detect_anomaly()
    def inside():
        return is_anomaly_enabled()

    assert inside() and not is_anomaly_enabled()
    set_detect_anomaly(True)  # without `with`: on at once, until turned off
    assert is_anomaly_enabled()
    set_detect_anomaly(False)


def test_check_nan_false_records_traces_but_does_not_stop():
    x = bp.tensor([0.0], requires_grad=True)
    with detect_anomaly(check_nan=False):
        y = bp.log(x)
        y.sum().backward()
    assert "y = bp.log(x)" in y.grad_fn._forward_trace
    assert x.grad.tolist() == [float("inf")]


def test_errors_raised_in_backward_get_the_forward_trace():
    x = bp.randn(3, requires_grad=True)
    with detect_anomaly():
        y = (x * x).sum()
        y.backward()
        with pytest.raises(RuntimeError, match=r"(?s)retain_graph.*raised in the backward of.*y = \(x \* x\)"):
            y.backward()


def test_finite_backward_in_anomaly_mode_matches_plain_backward():
    bp.manual_seed(1)
    net = Net(lambda h: h * h)
    x = bp.randn(5, 3)
    net(x).backward()
    plain = [p.grad.tolist() for p in net.parameters()]
    net.zero_grad()
    with detect_anomaly():
        net(x).backward()
    assert [p.grad.tolist() for p in net.parameters()] == plain
