"""Property-based tests: random graphs of the op table (random shapes that broadcast, random op
sequences, shared subexpressions, in-place ops where they are legal) differentiated by backprop
and checked against central finite differences in float64, and against PyTorch where installed.

The programs come from _graph_programs.py. Hypothesis profiles, chosen by HYPOTHESIS_PROFILE:
  ci (default)  derandomized, so every CI run tries the same 300 graphs per property; well under
                a minute on 2 cores when the properties hold (shrinking a failure takes longer)
  thorough      random, 5000 graphs per property, for local runs:
                HYPOTHESIS_PROFILE=thorough python -m pytest tests/test_property_graphs.py
A failure prints the program (steps over v0, v1, ...) and the seed to reproduce it.
"""

import os

import numpy as np
import pytest

pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, note, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import backprop as bp  # noqa: E402
import backprop.nn.functional as F  # noqa: E402
from _graph_programs import build, replay  # noqa: E402
from backprop.autograd import gradcheck  # noqa: E402

_COMMON = dict(
    deadline=None,
    # No explain phase: on a failure it reruns the example hundreds of times for a hint at the cause.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
settings.register_profile("ci", max_examples=300, derandomize=True, **_COMMON)
settings.register_profile("thorough", max_examples=5000, **_COMMON)
settings.register_profile("local", settings.get_profile("thorough"))
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
SETTINGS = settings.get_profile(PROFILE)


def _scaled(profile, factor):
    return settings(profile, max_examples=max(1, int(profile.max_examples * factor)))


def draw_program(data, max_steps=12):
    n_inputs = data.draw(st.integers(1, 3), label="inputs")
    # sampled_from rather than integers: hypothesis favours small integers, we want real shapes.
    rank = data.draw(st.sampled_from([2, 3, 1, 0]), label="rank")
    base = tuple(data.draw(st.sampled_from([3, 2, 4, 1]), label=f"dim {d}") for d in range(rank))
    n_steps = data.draw(st.integers(3, max_steps), label="steps")
    program = build(data, st, n_inputs, base, n_steps)
    note(repr(program))
    return program


def _inputs(lib, program):
    return [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in program.arrays]


def _grads(tensors):
    return [None if t.grad is None else t.grad.detach().numpy().copy() for t in tensors]


# ---- the properties ------------------------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_random_graph_gradients_match_finite_differences(data):
    program = draw_program(data)
    xs = _inputs(bp, program)
    assert gradcheck(lambda *t: replay(bp, F, program, t)[0], xs, eps=1e-6, atol=1e-5, rtol=1e-3)


@_scaled(SETTINGS, 0.5)
@given(data=st.data())
def test_random_graph_backward_twice_accumulates_and_grad_agrees(data):
    program = draw_program(data)
    xs = _inputs(bp, program)
    out, _ = replay(bp, F, program, xs)
    by_grad = bp.autograd.grad(out, xs, retain_graph=True, allow_unused=True)
    out.backward(retain_graph=True)
    once = _grads(xs)
    out.backward()
    twice = _grads(xs)
    for g, a, b in zip(by_grad, once, twice):
        if a is None:
            assert b is None and g is None
            continue
        np.testing.assert_allclose(g.numpy(), a, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b, 2 * a, rtol=1e-12, atol=1e-12)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _outcome(lib, functional, program):
    """What running and differentiating the program gives: values, or the exception raised."""
    try:
        xs = _inputs(lib, program)
        out, pool = replay(lib, functional, program, xs)
        out.backward()
    except Exception as e:  # noqa: BLE001 - compared with the other library's outcome
        return {"raised": type(e).__name__, "message": str(e)}
    # PyTorch returns some no-op views (flatten of a 1-D tensor) as the very same object, so
    # retaining such a value retains the original's gradient: only distinct non-leaves compare.
    distinct = [i for i in program.retain
                if not pool[i].is_leaf and not any(pool[i] is pool[k] for k in range(len(pool)) if k != i)]
    return {
        "value": out.item(),
        "grads": _grads(xs),
        "retained": dict(zip(distinct, _grads([pool[i] for i in distinct]))),
    }


@SETTINGS
@given(data=st.data())
def test_random_graph_matches_torch(torch, data):
    program = draw_program(data)
    mine = _outcome(bp, F, program)
    theirs = _outcome(torch, torch.nn.functional, program)
    if "raised" in theirs or "raised" in mine:
        assert mine.get("raised") == theirs.get("raised"), f"backprop: {mine}\ntorch: {theirs}"
        return
    np.testing.assert_allclose(mine["value"], theirs["value"], rtol=1e-9, atol=1e-9)
    pairs = [(f"grad of input {k}", a, b) for k, (a, b) in enumerate(zip(mine["grads"], theirs["grads"]))]
    pairs += [(f"retained grad of v{i}", mine["retained"][i], b) for i, b in theirs["retained"].items()
              if i in mine["retained"]]
    for what, a, b in pairs:
        assert (a is None) == (b is None), f"{what}: backprop {a}, torch {b}"
        if a is not None:
            assert a.shape == b.shape, what
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9, err_msg=what)


# ---- minimal examples of what these properties found --------------------------------------------
# Kept as plain tests so that each names its bug even while the random search is busy with another.


def _x():
    return bp.tensor([0.5, -0.3, 1.7], dtype=bp.float64, requires_grad=True)


def _y():
    return bp.tensor([1.5, 0.7, -2.0], dtype=bp.float64, requires_grad=True)


@pytest.mark.parametrize("reset", ["fill_", "zero_"])
def test_fill_or_zero_on_a_non_leaf_cuts_its_history(reset):
    x, y = _x(), _y()
    c = x.clone()
    c.fill_(2.0) if reset == "fill_" else c.zero_()
    c.add_(y)
    (c * c + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, 1.0])  # only the direct "+ x"
    np.testing.assert_allclose(y.grad.numpy(), 2 * c.detach().numpy())


def test_clamp_in_place_on_a_non_leaf_differentiates():
    x = _x()
    c = x * 1
    c.clamp_(-0.4, 1.0)
    (c * c).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -0.6, 0.0])


@pytest.mark.parametrize("op", ["mul_", "div_"])
def test_in_place_mul_or_div_by_a_tensor_requiring_grad_differentiates(op):
    x, y = _x(), _y()
    c = x * 1
    getattr(c, op)(y)
    c.sum().backward()
    xv, yv = x.detach().numpy(), y.detach().numpy()
    if op == "mul_":
        np.testing.assert_allclose(x.grad.numpy(), yv)
        np.testing.assert_allclose(y.grad.numpy(), xv)
    else:
        np.testing.assert_allclose(x.grad.numpy(), 1 / yv)
        np.testing.assert_allclose(y.grad.numpy(), -xv / yv**2)
