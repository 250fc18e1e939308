"""Learning-rate schedulers follow torch.optim.lr_scheduler."""

import pytest

import backprop as bp

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name,kwargs", [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.001)),
    ("LinearLR", dict(start_factor=0.25, end_factor=1.0, total_iters=6)),
])
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_schedule_matches_torch(name, kwargs, opt_name):
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
