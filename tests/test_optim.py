"""Optimizers and gradient clipping follow PyTorch step for step."""

import numpy as np
import pytest

import backprop as bp

STEPS = 40

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    ("SGD", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=1e-2)),
    ("Adam", dict(lr=1e-2, betas=(0.8, 0.99), weight_decay=1e-2)),
    ("Adam", dict(lr=1e-2, amsgrad=True)),
    ("Adam", dict(lr=1e-2, betas=(0.3, 0.9), eps=1e-6)),
    ("AdamW", dict(lr=1e-2)),
    ("AdamW", dict(lr=1e-2, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=1e-2)),
    ("RMSprop", dict(lr=1e-2, momentum=0.9, centered=True, weight_decay=1e-3)),
    ("RMSprop", dict(lr=1e-3, alpha=0.9, centered=True)),
]


def assert_close(actual, expected, rtol, msg=""):
    """Relative to the tensor's scale: max |a - b| <= rtol * max |b|."""
    scale = max(float(np.max(np.abs(expected))), 1e-30)
    err = float(np.max(np.abs(actual - expected)))
    assert err <= rtol * scale, f"{msg}: max abs error {err:.3e} exceeds {rtol:g} x scale {scale:.3e}"


def _weights(dtype):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) * 0.5 for s in [(8, 5), (8,), (3, 8), (3,)]]


def _batches(dtype):
    rng = np.random.default_rng(1)
    return [(rng.standard_normal((16, 5)).astype(dtype), rng.standard_normal((16, 3)).astype(dtype)) for _ in range(STEPS)]


def _loss(lib, F, params, x, y):
    w1, b1, w2, b2 = params
    h = lib.tanh(F.linear(x, w1, b1))
    return F.mse_loss(F.linear(h, w2, b2), y)


def _trajectory(lib, name, kwargs, dtype, clip=None):
    """Parameters after each of STEPS optimizer steps, with `lib` (backprop or torch)."""
    params = [lib.tensor(w, requires_grad=True) for w in _weights(dtype)]
    extra = {"foreach": False} if lib is not bp else {}  # torch's single-tensor path, the one we follow
    opt = getattr(lib.optim, name)(params, **extra, **kwargs)
    out = []
    for x, y in _batches(dtype):
        opt.zero_grad()
        _loss(lib, lib.nn.functional, params, lib.tensor(x), lib.tensor(y)).backward()
        if clip is not None:
            clip(params)
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out


def _trajectory_backprop(name, kwargs, dtype, clip=None):
    return _trajectory(bp, name, kwargs, dtype, clip)


def _trajectory_torch(name, kwargs, dtype, clip=None):
    torch = pytest.importorskip("torch")
    return _trajectory(torch, name, kwargs, dtype, clip)


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-4), (np.float64, 1e-10)])
@pytest.mark.parametrize("name,kwargs", CONFIGS)
def test_optimizer_matches_torch(name, kwargs, dtype, rtol):
    ours = _trajectory_backprop(name, kwargs, dtype)
    theirs = _trajectory_torch(name, kwargs, dtype)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for pa, pb in zip(a, b):
            assert_close(pa, pb, rtol, f"{name} step {step}")


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-4), (np.float64, 1e-10)])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(dtype, rtol, norm_type):
    torch = pytest.importorskip("torch")
    def ours(params):
        bp.nn.utils.clip_grad_norm_(params, 0.5, norm_type=norm_type)

    def theirs(params):
        torch.nn.utils.clip_grad_norm_(params, 0.5, norm_type=norm_type)

    a = _trajectory_backprop("SGD", dict(lr=0.1, momentum=0.9), dtype, clip=ours)
    b = _trajectory_torch("SGD", dict(lr=0.1, momentum=0.9), dtype, clip=theirs)
    for step, (pa_list, pb_list) in enumerate(zip(a, b)):
        for pa, pb in zip(pa_list, pb_list):
            assert_close(pa, pb, rtol, f"step {step}")


def test_clip_grad_value_matches_torch():
    torch = pytest.importorskip("torch")
    a = _trajectory_backprop("SGD", dict(lr=0.1), np.float64, clip=lambda ps: bp.nn.utils.clip_grad_value_(ps, 0.05))
    b = _trajectory_torch("SGD", dict(lr=0.1), np.float64, clip=lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.05))
    for pa_list, pb_list in zip(a, b):
        for pa, pb in zip(pa_list, pb_list):
            assert_close(pa, pb, 1e-10)


def test_param_groups_and_lr_changes_follow_torch():
    torch = pytest.importorskip("torch")
    def run(lib, F, make_opt):
        params = [lib.tensor(w, requires_grad=True) for w in _weights(np.float64)]
        opt = make_opt(params)
        for i, (x, y) in enumerate(_batches(np.float64)):
            opt.zero_grad()
            _loss(lib, F, params, lib.tensor(x), lib.tensor(y)).backward()
            opt.step()
            if i == 10:
                opt.param_groups[1]["lr"] = 0.001
        return [p.detach().numpy() for p in params]

    def groups(params):
        return [{"params": params[:2]}, {"params": params[2:], "lr": 0.05, "betas": (0.5, 0.9)}]

    ours = run(bp, bp.nn.functional, lambda ps: bp.optim.Adam(groups(ps), lr=0.01))
    theirs = run(torch, torch.nn.functional, lambda ps: torch.optim.Adam(groups(ps), lr=0.01, foreach=False))
    for a, b in zip(ours, theirs):
        assert_close(a, b, 1e-10)


def test_state_dict_round_trip_continues_identically(tmp_path):
    def make():
        params = [bp.tensor(w, requires_grad=True) for w in _weights(np.float64)]
        return params, bp.optim.Adam(params, lr=0.01, amsgrad=True)

    def train(params, opt, batches):
        for x, y in batches:
            opt.zero_grad()
            _loss(bp, bp.nn.functional, params, bp.tensor(x), bp.tensor(y)).backward()
            opt.step()

    batches = _batches(np.float64)
    params, opt = make()
    train(params, opt, batches[:10])
    bp.save(opt.state_dict(), tmp_path / "opt.safetensors")
    bp.save({f"p{i}": p for i, p in enumerate(params)}, tmp_path / "params.safetensors")
    train(params, opt, batches[10:])

    params2, opt2 = make()
    saved = bp.load(tmp_path / "params.safetensors")
    with bp.no_grad():
        for i, p in enumerate(params2):
            p.copy_(saved[f"p{i}"])
    opt2.load_state_dict(bp.load(tmp_path / "opt.safetensors"))
    assert opt2.param_groups[0]["betas"] == (0.9, 0.999)
    train(params2, opt2, batches[10:])
    for a, b in zip(params, params2):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_state_matches_torch_layout():
    p = bp.zeros(3, requires_grad=True)
    opt = bp.optim.Adam([p], lr=0.1)
    p.sum().backward()
    opt.step()
    state = opt.state_dict()["state"][0]
    assert set(state) == {"step", "exp_avg", "exp_avg_sq"}
    assert state["step"].item() == 1.0
    assert opt.state[p]["exp_avg"].shape == (3,)


def test_optimizer_errors():
    p = bp.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        bp.optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        bp.optim.SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        bp.optim.Adam([p], betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="Nesterov"):
        bp.optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="floating"):
        bp.optim.SGD([bp.zeros(2, dtype=bp.int64)], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        bp.optim.SGD(p, lr=0.1)
    q = bp.zeros(2, requires_grad=True)
    opt = bp.optim.SGD([q], lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"params": [0, 1], "lr": 0.1}]})


def test_clip_grad_norm_nonfinite_raises():
    p = bp.zeros(2, requires_grad=True)
    p.grad = bp.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        bp.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_hyperparameters_of_the_wrong_type_are_named():
    import pytest

    p = [bp.zeros(2, requires_grad=True)]
    for cls in (bp.optim.SGD, bp.optim.Adam, bp.optim.AdamW, bp.optim.RMSprop, bp.optim.NAdam, bp.optim.RAdam,
                bp.optim.Adamax, bp.optim.Adagrad):
        with pytest.raises(TypeError, match=f"{cls.__name__}: lr must be a number, but got str"):
            cls(p, lr="x")
        with pytest.raises(TypeError, match="weight_decay must be a number"):
            cls(p, weight_decay=None)
    with pytest.raises(TypeError, match="betas must be a tuple of 2 numbers"):
        bp.optim.Adam(p, betas=0.9)
    bp.optim.SGD(p, lr=bp.tensor(0.1))  # a 0-d tensor, as PyTorch allows
