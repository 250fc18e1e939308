"""PolynomialLR, CosineAnnealingWarmRestarts, OneCycleLR, ReduceLROnPlateau, SequentialLR and
ChainedScheduler give torch.optim.lr_scheduler's rates (and momenta) step for step."""

import math

import numpy as np
import pytest

import backprop as bp

STEPS = 45


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _optimizer(lib, kind, groups=1):
    params = [lib.zeros(2, requires_grad=True) for _ in range(groups)]
    specs = [{"params": [p], "lr": 0.1 * (i + 1)} for i, p in enumerate(params)]
    extra = {} if lib is bp else {"foreach": False}
    if kind == "SGD":
        return lib.optim.SGD(specs, lr=0.1, momentum=0.9, **extra)
    return getattr(lib.optim, kind)(specs, lr=0.1, **extra)


def _snapshot(opt, sched):
    """Each group's lr, momentum or beta1, and what the scheduler says it set."""
    out = []
    for group in opt.param_groups:
        out.append(group["lr"])
        if "momentum" in group:
            out.append(group["momentum"])
        if "betas" in group:
            out.append(group["betas"][0])
    return out + list(sched.get_last_lr())


def _sequence(lib, kind, make, groups=1, steps=STEPS, step_args=None):
    opt = _optimizer(lib, kind, groups)
    sched = make(lib.optim.lr_scheduler, opt)
    seq = [_snapshot(opt, sched)]
    for i in range(steps):
        opt.step()
        if step_args is None:
            sched.step()
        else:
            sched.step(*step_args(i))
        seq.append(_snapshot(opt, sched))
    return seq


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15), f"step {step}: {a} vs {b}"


CASES = [
    ("PolynomialLR", "SGD", 1, lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0)),
    ("PolynomialLR-sqrt", "Adam", 2, lambda m, o: m.PolynomialLR(o, total_iters=30, power=0.5)),
    ("WarmRestarts", "SGD", 1, lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7)),
    ("WarmRestarts-mult", "Adam", 2, lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3)),
    ("OneCycle-cos", "SGD", 1, lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=STEPS)),
    ("OneCycle-linear-adam", "Adam", 2,
     lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 2.0], epochs=5, steps_per_epoch=9, pct_start=0.25,
                               anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0,
                               base_momentum=0.8, max_momentum=0.9)),
    ("OneCycle-three-phase", "SGD", 2,
     lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=STEPS + 5, three_phase=True, pct_start=0.4)),
    ("OneCycle-no-momentum", "Adagrad", 1,
     lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=STEPS, cycle_momentum=False)),
    ("Sequential", "SGD", 1,
     lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
                                     m.CosineAnnealingLR(o, T_max=30, eta_min=0.01)], milestones=[5])),
    ("Sequential-three", "Adam", 2,
     lambda m, o: m.SequentialLR(o, [m.ExponentialLR(o, gamma=0.9), m.StepLR(o, step_size=4, gamma=0.5),
                                     m.PolynomialLR(o, total_iters=10)], milestones=[10, 25])),
    ("Chained", "SGD", 1,
     lambda m, o: m.ChainedScheduler([m.LinearLR(o, start_factor=0.2, total_iters=8), m.ExponentialLR(o, gamma=0.95)])),
    ("Chained-steps", "Adam", 2,
     lambda m, o: m.ChainedScheduler([m.StepLR(o, step_size=5, gamma=0.7), m.MultiStepLR(o, milestones=[12, 30]),
                                      m.CosineAnnealingWarmRestarts(o, T_0=6)], optimizer=o)),
]


@pytest.mark.parametrize("label,kind,groups,make", CASES, ids=[c[0] for c in CASES])
def test_schedule_matches_torch(label, kind, groups, make, torch):
    _assert_same(_sequence(bp, kind, make, groups), _sequence(torch, kind, make, groups))


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_fractional_epochs_match_torch(T_mult, torch):
    iters = 4

    def epochs(i):
        return (i // iters + (i % iters) / iters,)

    def make(m, o):
        return m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=T_mult, eta_min=0.005)

    ours = _sequence(bp, "SGD", make, steps=60, step_args=epochs)
    theirs = _sequence(torch, "SGD", make, steps=60, step_args=epochs)
    _assert_same(ours, theirs)


def _metrics(count=STEPS):
    # Improves, stalls on a plateau with tiny gains below the threshold, improves again, worsens.
    rng = np.random.default_rng(3)
    values = list(np.linspace(1.0, 0.5, 8))
    values += [0.5 - 1e-6 * i for i in range(12)]
    values += list(np.linspace(0.45, 0.3, 6))
    values += list(0.3 + np.abs(rng.standard_normal(count - len(values))) * 0.05)
    return [float(v) for v in values[:count]]


PLATEAU = [
    dict(),
    dict(patience=2, factor=0.5),
    dict(mode="max", patience=1, threshold=0.01, threshold_mode="abs", cooldown=2, factor=0.3),
    dict(patience=0, cooldown=1, min_lr=[0.02, 0.05], factor=0.5),
    dict(patience=1, threshold=1e-3, min_lr=0.01, eps=0.02, factor=0.6),
]


@pytest.mark.parametrize("kwargs", PLATEAU)
def test_reduce_lr_on_plateau_matches_torch(kwargs, torch):
    metrics = _metrics()

    def make(m, o):
        return m.ReduceLROnPlateau(o, **kwargs)

    def args(i):
        return (metrics[i],)

    ours = _sequence(bp, "SGD", make, groups=2, step_args=args)
    theirs = _sequence(torch, "SGD", make, groups=2, step_args=args)
    _assert_same(ours, theirs)
    assert ours[-1][0] < ours[0][0]  # the schedule did reduce


@pytest.mark.parametrize("label,kind,groups,make", CASES, ids=[c[0] for c in CASES])
def test_state_dict_resumes_the_schedule(label, kind, groups, make):
    full = _sequence(bp, kind, make, groups)
    opt = _optimizer(bp, kind, groups)
    sched = make(bp.optim.lr_scheduler, opt)
    for _ in range(15):
        opt.step()
        sched.step()
    saved_sched, saved_opt = sched.state_dict(), opt.state_dict()

    opt2 = _optimizer(bp, kind, groups)
    sched2 = make(bp.optim.lr_scheduler, opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved_sched)
    resumed = [_snapshot(opt2, sched2)]
    for _ in range(15, STEPS):
        opt2.step()
        sched2.step()
        resumed.append(_snapshot(opt2, sched2))
    _assert_same(resumed, full[15:])


def test_plateau_state_dict_resumes():
    metrics = _metrics()
    opt = _optimizer(bp, "SGD")
    sched = bp.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1)
    for v in metrics[:20]:
        sched.step(v)
    state = sched.state_dict()
    opt2 = _optimizer(bp, "SGD")
    opt2.load_state_dict(opt.state_dict())
    sched2 = bp.optim.lr_scheduler.ReduceLROnPlateau(opt2)
    sched2.load_state_dict(state)
    for v in metrics[20:]:
        sched.step(v)
        sched2.step(v)
        assert sched2.get_last_lr() == sched.get_last_lr()
    assert sched2.num_bad_epochs == sched.num_bad_epochs and sched2.best == sched.best


def test_one_cycle_refuses_steps_past_total():
    opt = _optimizer(bp, "SGD")
    sched = bp.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    for _ in range(3):
        sched.step()
    with pytest.raises(ValueError, match="total_steps is 3"):
        sched.step()


@pytest.mark.parametrize("make,error,message", [
    (lambda m, o: m.OneCycleLR(o, max_lr=1.0), ValueError, "total_steps"),
    (lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=1), ValueError, "pct_start"),
    (lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=10, anneal_strategy="exp"), ValueError, "anneal_strategy"),
    (lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=10), ValueError, "param groups"),
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "T_0"),
    (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5), ValueError, "T_mult"),
    (lambda m, o: m.ReduceLROnPlateau(o, factor=1.0), ValueError, "factor"),
    (lambda m, o: m.ReduceLROnPlateau(o, mode="up"), ValueError, "mode"),
    (lambda m, o: m.ReduceLROnPlateau(o, threshold_mode="pct"), ValueError, "threshold_mode"),
    (lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2)], milestones=[3]), ValueError, "milestones"),
    (lambda m, o: m.SequentialLR(o, [m.ReduceLROnPlateau(o), m.StepLR(o, 2)], milestones=[3]), ValueError, "metric"),
    (lambda m, o: m.ChainedScheduler([]), ValueError, "at least one"),
    (lambda m, o: m.ChainedScheduler([m.StepLR(o, 2), m.StepLR(_optimizer(bp, "SGD"), 2)]), ValueError,
     "another optimizer"),
])
def test_bad_arguments_raise(make, error, message):
    with pytest.raises(error, match=message):
        make(bp.optim.lr_scheduler, _optimizer(bp, "SGD"))


def test_one_cycle_cycle_momentum_needs_momentum():
    opt = _optimizer(bp, "Adagrad")
    with pytest.raises(ValueError, match="cycle_momentum"):
        bp.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10)


def test_one_cycle_peaks_at_max_lr_with_lowest_momentum():
    opt = _optimizer(bp, "SGD")
    sched = bp.optim.lr_scheduler.OneCycleLR(opt, max_lr=2.0, total_steps=22, pct_start=0.5)
    lrs, moms = [], []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        sched.step()
    peak = int(np.argmax(lrs))
    assert lrs[peak] == pytest.approx(2.0) and moms[peak] == pytest.approx(0.85)
    assert lrs[0] == pytest.approx(2.0 / 25) and math.isclose(moms[0], 0.95)
