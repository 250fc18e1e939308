"""GradFlow: per-layer gradient norms, activation statistics and diagnoses of a model's gradient flow."""

import io
import math

import numpy as np
import pytest

import backprop as bp
from backprop import nn
from backprop.nn.utils import GradFlow


def mlp(sizes, act=nn.ReLU):
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def norm(t):
    return float(np.linalg.norm(t.detach().numpy().astype(np.float64)))


def test_records_every_leaf_layer_with_the_norms_backward_produced():
    model = mlp([6, 10, 10, 3])
    x, y = bp.randn(16, 6), bp.randint(0, 3, (16,))
    with GradFlow(model) as flow:
        nn.functional.cross_entropy(model(x), y).backward()
    assert flow.layers == ["0", "1", "2", "3", "4"]
    recs = flow.records()
    assert [r.kind for r in recs] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    for i in (0, 2, 4):
        lin = model[i]
        expected = math.hypot(norm(lin.weight.grad), norm(lin.bias.grad))
        assert recs[i].weight_grad_norm == pytest.approx(expected, rel=1e-6)
    assert recs[1].weight_grad_norm is None
    assert all(r.output_grad_norm is not None and r.output_grad_norm > 0 for r in recs)
    assert [n for n, _ in flow.norms("weight")] == ["0", "2", "4"]
    assert flow.ratio() == pytest.approx(recs[0].weight_grad_norm / recs[4].weight_grad_norm)


def test_output_gradients_and_activation_statistics_match_a_hand_built_graph():
    model = mlp([5, 7, 2])
    x = bp.randn(9, 5)
    with GradFlow(model) as flow:
        model(x).sum().backward()
    # The same network written with functional ops, gradients retained where the monitor looks.
    z = nn.functional.linear(x, model[0].weight.detach(), model[0].bias.detach()).requires_grad_()
    a = bp.relu(z)
    a.retain_grad()
    nn.functional.linear(a, model[2].weight.detach(), model[2].bias.detach()).sum().backward()
    recs = flow.records()
    assert recs[0].output_grad_norm == pytest.approx(norm(z.grad), rel=1e-6)
    assert recs[1].output_grad_norm == pytest.approx(norm(a.grad), rel=1e-6)
    assert recs[1].act_mean == pytest.approx(float(np.mean(a.detach().numpy())), rel=1e-5)
    assert recs[1].act_std == pytest.approx(float(np.std(a.detach().numpy())), rel=1e-5)
    assert recs[0].grad_fn == "AddmmBackward0" and recs[1].grad_fn == "ReluBackward0"


def test_norms_match_pytorch():
    torch = pytest.importorskip("torch")
    model = mlp([4, 8, 8, 2], act=nn.Tanh)
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.Tanh(),
                                 torch.nn.Linear(8, 2))
    with torch.no_grad():
        for (_, p), (_, tp) in zip(model.named_parameters(), tmodel.named_parameters()):
            tp.copy_(torch.from_numpy(p.detach().numpy().copy()))
    xn = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    outs = []
    handles = [m.register_full_backward_hook(lambda mod, gi, go: outs.append(go[0].norm().item())) for m in tmodel]
    tmodel(torch.from_numpy(xn).requires_grad_()).pow(2).mean().backward()
    for h in handles:
        h.remove()
    with GradFlow(model) as flow:
        (model(bp.tensor(xn)) ** 2).mean().backward()
    recs = flow.records()
    assert [r.output_grad_norm for r in recs] == pytest.approx(outs[::-1], rel=1e-4)
    for i in (0, 2, 4):
        expected = math.hypot(tmodel[i].weight.grad.norm().item(), tmodel[i].bias.grad.norm().item())
        assert recs[i].weight_grad_norm == pytest.approx(expected, rel=1e-4)


def test_a_step_is_a_forward_with_grad_mode_on():
    model = mlp([3, 4, 1])
    opt = bp.optim.SGD(model.parameters(), lr=0.1)
    x = bp.randn(8, 3)
    flow = GradFlow(model)
    for _ in range(3):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
    with bp.no_grad():
        model(x)
    assert len(flow.steps) == 3
    # Training changed the weights, so the recorded norms differ from step to step.
    assert flow.steps[0]["0"].weight_grad_norm != flow.steps[2]["0"].weight_grad_norm
    flow.remove()


def test_remove_restores_the_model_and_silences_the_hooks():
    model = mlp([3, 4, 4, 2])
    x = bp.randn(5, 3)
    plain = model(x).detach().numpy().copy()
    assert model(x).grad_fn.name() == "AddmmBackward0"
    flow = GradFlow(model)
    monitored = model(x)
    np.testing.assert_allclose(monitored.detach().numpy(), plain, rtol=1e-6, atol=1e-7)
    monitored.sum().backward()
    flow.remove()
    assert all("forward" not in m.__dict__ for m in model.modules())
    before = flow.records()[0].weight_grad_norm
    model.zero_grad()
    (model(x) * 3).sum().backward()
    assert len(flow.steps) == 1 and flow.records()[0].weight_grad_norm == before


def test_dead_relu_fraction_counts_units_zero_for_the_whole_batch():
    lin = nn.Linear(4, 8)
    with bp.no_grad():
        lin.weight[:4].zero_()
        lin.bias[:4].fill_(-1.0)  # units 0-3 are always negative before the ReLU
        lin.bias[4:].fill_(10.0)  # units 4-7 always positive for small inputs
        lin.weight[4:].fill_(0.01)
    model = nn.Sequential(lin, nn.ReLU(), nn.Linear(8, 1))
    with GradFlow(model) as flow:
        model(bp.randn(32, 4)).sum().backward()
    assert flow.records()[1].dead_fraction == 0.5
    assert flow.records()[0].dead_fraction is None


def test_deep_sigmoid_network_is_diagnosed_as_vanishing():
    model = mlp([16] * 31, act=nn.Sigmoid)
    with GradFlow(model, layers=nn.Linear) as flow:
        (model(bp.randn(32, 16)) ** 2).mean().backward()
    assert flow.layers == [str(i) for i in range(0, 60, 2)]
    assert flow.ratio() < 1e-3
    assert flow.status() == "vanishing"
    line = flow.diagnose()
    assert line.startswith("vanishing") and "Kaiming" in line and "\n" not in line


def test_large_ratio_is_diagnosed_as_exploding():
    # At initialisation, BatchNorm makes the gradient grow by a roughly constant factor per layer
    # on its way back (about 1.2 here): over 50 layers the first/last ratio passes 1e4.
    blocks = []
    for _ in range(50):
        blocks += [nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU()]
    model = nn.Sequential(*blocks, nn.Linear(32, 10))
    with GradFlow(model, layers=nn.Linear) as flow:
        nn.functional.cross_entropy(model(bp.randn(64, 32)), bp.randint(0, 10, (64,))).backward()
    assert flow.ratio() > 1e3
    assert flow.status() == "exploding"
    assert "clip_grad_norm_" in flow.diagnose()


def test_non_finite_values_name_the_first_layer():
    model = mlp([4, 4, 4, 1])
    with bp.no_grad():
        model[0].weight.fill_(1.0)
        model[0].bias.zero_()
        model[2].weight.fill_(3e38)  # 16 * 3e38 overflows float32
    with GradFlow(model) as flow:
        model(bp.ones(2, 4)).sum().backward()
    assert flow.status() == "exploding"
    assert flow.first_nonfinite_output["layer"] == "2"
    assert flow.first_nonfinite_output["grad_fn"] == "AddmmBackward0"
    assert flow.first_nonfinite_gradient is not None
    assert "first non-finite" in flow.diagnose()


def test_layers_by_name_and_bad_arguments():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    with GradFlow(model, layers=["0", "2"]) as flow:
        model(bp.randn(4, 2)).sum().backward()
    assert flow.layers == ["0", "2"]
    with pytest.raises(ValueError, match="no submodule named '5'"):
        GradFlow(model, layers=["5"])
    with pytest.raises(TypeError, match="expected an nn.Module"):
        GradFlow(lambda x: x)
    with pytest.raises(ValueError, match="no layer to monitor"):
        GradFlow(model, layers=nn.ReLU)
    fresh = GradFlow(model)
    with pytest.raises(RuntimeError, match="nothing recorded yet"):
        fresh.records()
    assert fresh.status() == "no data"
    fresh.remove()
    with pytest.raises(ValueError, match="kind must be"):
        flow.norms("bias")


def test_table_prints_every_layer_and_the_diagnosis():
    model = mlp([3, 5, 2])
    with GradFlow(model) as flow:
        model(bp.randn(4, 3)).sum().backward()
    buf = io.StringIO()
    flow.table(file=buf)
    text = buf.getvalue()
    assert "|dL/dW|" in text and "dead ReLU" in text
    assert [line.split()[0] for line in text.splitlines()[2:5]] == ["0", "1", "2"]
    assert text.rstrip().splitlines()[-1].startswith("step 0: healthy")


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    model = mlp([3, 5, 5, 2])
    opt = bp.optim.SGD(model.parameters(), lr=0.1)
    with GradFlow(model) as flow:
        for _ in range(2):
            opt.zero_grad()
            model(bp.randn(4, 3)).pow(2).sum().backward()
            opt.step()
    path = flow.plot(tmp_path / "flow.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
