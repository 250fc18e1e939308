"""Learning-rate schedulers follow torch.optim.lr_scheduler."""

import pytest

import backprop as bp


@pytest.fixture
def torch():
    """PyTorch as the oracle; the tests that need it skip cleanly without it."""
    return pytest.importorskip("torch")


@pytest.mark.parametrize("name,kwargs", [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LinearLR", dict(start_factor=0.25, end_factor=1.0, total_iters=6)),
])
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_schedule_matches_torch(name, kwargs, opt_name, torch):
    p = bp.zeros(2, requires_grad=True)
    tp = torch.zeros(2, requires_grad=True)
    groups = lambda params: [{"params": [params], "lr": 0.1}]  # noqa: E731
    opt = getattr(bp.optim, opt_name)(groups(p), lr=0.1)
    topt = getattr(torch.optim, opt_name)(groups(tp), lr=0.1)
    sched = getattr(bp.optim.lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(20):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
        assert opt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        topt.step()
        sched.step()
        tsched.step()


def test_scheduler_drives_the_optimizer():
    p = bp.ones(1, requires_grad=True)
    opt = bp.optim.SGD([p], lr=1.0)
    sched = bp.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        opt.zero_grad()
        p.sum().backward()
        opt.step()
        sched.step()
    # steps of 1, 0.5 and 0.25
    assert p.item() == pytest.approx(1 - 1.75)
    state = sched.state_dict()
    assert state["last_epoch"] == 3


class StandIn:
    """All a scheduler touches: param_groups, a list of dicts with 'lr'."""

    def __init__(self, *lrs):
        self.param_groups = [{"params": [], "lr": lr} for lr in lrs]


CASES = [
    ("StepLR", dict(step_size=2, gamma=0.3)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
    ("CosineAnnealingLR", dict(T_max=4)),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=4)),
    ("LinearLR", dict()),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.8)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1.0 / (1 + epoch))),
]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_stand_in_with_two_groups_follows_torch(name, kwargs, torch):
    opt = StandIn(0.1, 0.05)
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1},
                            {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.05}], lr=0.1)
    sched = getattr(bp.optim.lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    for _ in range(25):  # past T_max: cosine climbs back, as in PyTorch
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)
        assert [g["lr"] for g in opt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-12)
        assert sched.last_epoch == tsched.last_epoch
        topt.step()
        sched.step()
        tsched.step()
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]


def test_step_formulas_without_torch_values():
    opt = StandIn(1.0)
    sched = bp.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    seen = []
    for _ in range(6):
        seen.append(sched.get_last_lr()[0])
        sched.step()
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    opt = StandIn(1.0)
    sched = bp.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2, eta_min=0.0)
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("name,kwargs", CASES)
def test_state_dict_resumes_the_schedule(name, kwargs):
    cls = getattr(bp.optim.lr_scheduler, name)
    opt = StandIn(0.2)
    sched = cls(opt, **kwargs)
    for _ in range(3):
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3
    reference = []
    for _ in range(5):
        sched.step()
        reference.append(sched.get_last_lr()[0])

    resumed_opt = StandIn(0.2)
    resumed = cls(resumed_opt, **kwargs)
    resumed.load_state_dict(state)
    resumed_opt.param_groups[0]["lr"] = state["_last_lr"][0]  # what loading the optimizer's state restores
    values = []
    for _ in range(5):
        resumed.step()
        values.append(resumed.get_last_lr()[0])
    assert values == pytest.approx(reference, rel=1e-12)


@pytest.mark.parametrize("name,kwargs", CASES)
def test_explicit_epoch_uses_the_closed_form_like_torch(name, kwargs, torch):
    import warnings

    opt = StandIn(0.1)
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = getattr(bp.optim.lr_scheduler, name)(opt, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates the epoch argument
        for epoch in (3, 1, 7):
            topt.step()
            sched.step(epoch)
            tsched.step(epoch)
            assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12, abs=1e-15)


def test_resuming_needs_initial_lr_and_linear_lr_checks_factors():
    with pytest.raises(KeyError, match="initial_lr"):
        bp.optim.lr_scheduler.StepLR(StandIn(0.1), step_size=1, last_epoch=4)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        bp.optim.lr_scheduler.LinearLR(StandIn(0.1), start_factor=0.0)
    with pytest.raises(ValueError, match="Ending multiplicative factor"):
        bp.optim.lr_scheduler.LinearLR(StandIn(0.1), end_factor=1.5)


def test_lambda_lr_per_group_and_callable_object_state(torch):
    class Warmup:
        def __init__(self, steps):
            self.steps = steps

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.steps)

    opt = StandIn(0.1, 0.2)
    topt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": 0.1},
                            {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.2}])
    lambdas = [Warmup(4), lambda e: 0.9 ** e]
    sched = bp.optim.lr_scheduler.LambdaLR(opt, lambdas)
    tsched = torch.optim.lr_scheduler.LambdaLR(topt, lambdas)
    for _ in range(8):
        assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr(), rel=1e-12)
        topt.step()
        sched.step()
        tsched.step()
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"steps": 4}, None]
    assert state["lr_lambdas"] == tsched.state_dict()["lr_lambdas"]
    fresh = bp.optim.lr_scheduler.LambdaLR(StandIn(0.1, 0.2), [Warmup(10), lambda e: 1.0])
    fresh.load_state_dict(state)
    assert fresh.lr_lambdas[0].steps == 4 and fresh.last_epoch == 8
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        bp.optim.lr_scheduler.LambdaLR(StandIn(0.1, 0.2), [lambda e: 1.0])
