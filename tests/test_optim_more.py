"""NAdam, RAdam, Adamax, Adagrad and SGD's dampening follow PyTorch step for step."""

import contextlib

import numpy as np
import pytest

import backprop as bp

STEPS = 40

CONFIGS = [
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.9, weight_decay=1e-2, maximize=True)),
    ("SGD", dict(lr=0.05, dampening=0.5)),  # dampening without momentum changes nothing
    ("NAdam", dict(lr=1e-2)),
    ("NAdam", dict(lr=1e-2, betas=(0.8, 0.99), momentum_decay=0.1, eps=1e-6)),
    ("NAdam", dict(lr=1e-2, weight_decay=1e-2)),
    ("NAdam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=1e-2)),
    ("RAdam", dict(lr=1e-2, betas=(0.8, 0.9), eps=1e-6, weight_decay=1e-2)),
    ("RAdam", dict(lr=1e-2, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=1e-2, betas=(0.5, 0.99), maximize=True)),
    ("Adamax", dict(lr=1e-2)),
    ("Adamax", dict(lr=1e-2, betas=(0.8, 0.9), eps=1e-3, weight_decay=1e-2)),
    ("Adamax", dict(lr=1e-2, maximize=True)),
    ("Adagrad", dict(lr=0.05)),
    ("Adagrad", dict(lr=0.05, lr_decay=0.05, initial_accumulator_value=0.1, eps=1e-6)),
    ("Adagrad", dict(lr=0.05, weight_decay=1e-2, maximize=True)),
]


def assert_close(actual, expected, rtol, msg=""):
    """Relative to the tensor's scale: max |a - b| <= rtol * max |b|."""
    scale = max(float(np.max(np.abs(expected))), 1e-30)
    err = float(np.max(np.abs(actual - expected)))
    assert err <= rtol * scale, f"{msg}: max abs error {err:.3e} exceeds {rtol:g} x scale {scale:.3e}"


def _weights(dtype):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) * 0.5 for s in [(8, 5), (8,), (3, 8), (3,)]]


def _batches(dtype, steps=STEPS):
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((16, 5)).astype(dtype), rng.standard_normal((16, 3)).astype(dtype))
            for _ in range(steps)]


def _loss(lib, params, x, y):
    F = lib.nn.functional
    w1, b1, w2, b2 = params
    return F.mse_loss(F.linear(lib.tanh(F.linear(x, w1, b1)), w2, b2), y)


@contextlib.contextmanager
def _torch_scalars(torch, dtype):
    # PyTorch keeps per-parameter scalar state (NAdam's mu_product) in its default dtype; backprop
    # keeps it in double, so float64 runs compare with torch's default dtype set to float64.
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def _train(lib, params, opt, batches, on_step=None):
    out = []
    for i, (x, y) in enumerate(batches):
        opt.zero_grad()
        _loss(lib, params, lib.tensor(x), lib.tensor(y)).backward()
        opt.step()
        if on_step is not None:
            on_step(i, opt)
        out.append([p.detach().numpy().copy() for p in params])
    return out


def _run(lib, make_opt, dtype, on_step=None):
    params = [lib.tensor(w, requires_grad=True) for w in _weights(dtype)]
    opt = make_opt(params)
    if lib is bp:
        return _train(lib, params, opt, _batches(dtype), on_step)
    with _torch_scalars(lib, dtype):
        return _train(lib, params, opt, _batches(dtype), on_step)


def _compare(ours, theirs, rtol, what):
    assert len(ours) == len(theirs) == STEPS
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for pa, pb in zip(a, b):
            assert_close(pa, pb, rtol, f"{what} step {step}")


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-4), (np.float64, 1e-12)])
@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_optimizer_matches_torch(name, kwargs, dtype, rtol):
    torch = pytest.importorskip("torch")
    ours = _run(bp, lambda ps: getattr(bp.optim, name)(ps, **kwargs), dtype)
    theirs = _run(torch, lambda ps: getattr(torch.optim, name)(ps, foreach=False, **kwargs), dtype)
    _compare(ours, theirs, rtol, name)


GROUPS = [
    ("NAdam", dict(lr=1e-2), dict(betas=(0.5, 0.9), momentum_decay=0.01, decoupled_weight_decay=True,
                                  weight_decay=0.1)),
    ("RAdam", dict(lr=1e-2), dict(betas=(0.7, 0.95), weight_decay=1e-2)),
    ("Adamax", dict(lr=1e-2), dict(betas=(0.5, 0.9), maximize=True)),
    # PyTorch fills every group's sum with the constructor's initial_accumulator_value even where
    # a group names its own; backprop uses the group's (test_adagrad_group_accumulator below).
    ("Adagrad", dict(lr=0.05, initial_accumulator_value=0.2), dict(lr_decay=0.1, eps=1e-3)),
]


@pytest.mark.parametrize("name,defaults,second", GROUPS)
def test_param_groups_and_lr_changes_follow_torch(name, defaults, second):
    torch = pytest.importorskip("torch")

    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], "lr": 0.02, **second}]

    def change_lr(i, opt):
        if i == 10:
            opt.param_groups[1]["lr"] = 0.005

    ours = _run(bp, lambda ps: getattr(bp.optim, name)(groups(ps), **defaults), np.float64, change_lr)
    theirs = _run(torch, lambda ps: getattr(torch.optim, name)(groups(ps), foreach=False, **defaults),
                  np.float64, change_lr)
    _compare(ours, theirs, 1e-12, name)


STATE_KEYS = {
    "NAdam": {"step", "mu_product", "exp_avg", "exp_avg_sq"},
    "RAdam": {"step", "exp_avg", "exp_avg_sq"},
    "Adamax": {"step", "exp_avg", "exp_inf"},
    "Adagrad": {"step", "sum"},
}


@pytest.mark.parametrize("name,kwargs", [(n, d) for n, d, _ in GROUPS])
def test_state_dict_round_trip_continues_identically(name, kwargs, tmp_path):
    torch = pytest.importorskip("torch")
    batches = _batches(np.float64)

    def make():
        params = [bp.tensor(w, requires_grad=True) for w in _weights(np.float64)]
        return params, getattr(bp.optim, name)(params, **kwargs)

    params, opt = make()
    _train(bp, params, opt, batches[:10])
    bp.save(opt.state_dict(), tmp_path / "opt.safetensors")
    saved_params = [p.detach().clone() for p in params]
    state = opt.state_dict()["state"][0]
    assert set(state) == STATE_KEYS[name]
    assert state["step"].item() == 10.0
    _train(bp, params, opt, batches[10:])

    params2, opt2 = make()
    with bp.no_grad():
        for p, saved in zip(params2, saved_params):
            p.copy_(saved)
    opt2.load_state_dict(bp.load(tmp_path / "opt.safetensors"))
    _train(bp, params2, opt2, batches[10:])
    for a, b in zip(params, params2):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())

    # The layout is torch's: the same keys, and the same values after the same steps.
    tparams = [torch.tensor(w, requires_grad=True) for w in _weights(np.float64)]
    with _torch_scalars(torch, np.float64):
        topt = getattr(torch.optim, name)(tparams, foreach=False, **kwargs)
        _train(torch, tparams, topt, batches[:10])
    theirs = topt.state_dict()["state"][0]
    assert set(theirs) == STATE_KEYS[name]
    for key in STATE_KEYS[name]:
        assert_close(np.asarray(state[key].numpy()), theirs[key].numpy(), 1e-12, key)


def test_nadam_state_refused_after_data_replaced():
    p = bp.zeros(3, requires_grad=True)
    opt = bp.optim.NAdam([p], lr=0.1)
    p.sum().backward()
    opt.step()
    p.data = bp.zeros(4)
    p.grad = bp.ones(4)
    with pytest.raises(RuntimeError, match="NAdam: the state 'exp_avg' has shape"):
        opt.step()
    np.testing.assert_array_equal(p.detach().numpy(), np.zeros(4))


def test_load_state_dict_checks_shapes_before_writing():
    p = bp.zeros(3, requires_grad=True)
    opt = bp.optim.Adagrad([p], lr=0.1)
    p.sum().backward()
    opt.step()
    before = opt.state_dict()
    bad = {"state": {0: {"step": 5, "sum": bp.ones(2)}}, "param_groups": before["param_groups"]}
    with pytest.raises(ValueError, match="'sum' has shape"):
        opt.load_state_dict(bad)
    assert opt.state_dict()["state"][0]["step"].item() == 1.0


def test_adagrad_initial_accumulator_value_starts_the_sum():
    p = bp.tensor([1.0, -2.0], dtype=bp.float64, requires_grad=True)
    opt = bp.optim.Adagrad([p], lr=0.5, initial_accumulator_value=3.0)
    p.grad = bp.tensor([1.0, 0.0], dtype=bp.float64)
    opt.step()
    np.testing.assert_allclose(opt.state[p]["sum"].numpy(), [4.0, 3.0])
    np.testing.assert_allclose(p.detach().numpy(), [1.0 - 0.5 / (2.0 + 1e-10), -2.0])


def test_adagrad_group_accumulator():
    p, q = bp.zeros(1, requires_grad=True), bp.zeros(1, requires_grad=True)
    opt = bp.optim.Adagrad([{"params": [p]}, {"params": [q], "initial_accumulator_value": 8.0}],
                           initial_accumulator_value=3.0)
    p.grad, q.grad = bp.ones(1), bp.ones(1)
    opt.step()
    assert opt.state[p]["sum"].item() == 4.0
    assert opt.state[q]["sum"].item() == 9.0


@pytest.mark.parametrize("make,message", [
    (lambda ps: bp.optim.NAdam(ps, momentum_decay=-1.0), "Invalid momentum_decay"),
    (lambda ps: bp.optim.NAdam(ps, betas=(1.0, 0.9)), "beta parameter at index 0"),
    (lambda ps: bp.optim.RAdam(ps, eps=-1.0), "Invalid epsilon"),
    (lambda ps: bp.optim.Adamax(ps, betas=(0.9, -0.1)), "beta parameter at index 1"),
    (lambda ps: bp.optim.Adagrad(ps, lr_decay=-0.1), "Invalid lr_decay"),
    (lambda ps: bp.optim.Adagrad(ps, initial_accumulator_value=-1.0), "Invalid initial_accumulator_value"),
    (lambda ps: bp.optim.Adagrad(ps, lr=-1.0), "Invalid learning rate"),
])
def test_bad_hyperparameters_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make([bp.zeros(2, requires_grad=True)])
