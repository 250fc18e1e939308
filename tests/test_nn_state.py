"""Module bookkeeping: registration, traversal, modes, state dicts, dtype moves, printing."""

import numpy as np
import pytest

import backprop as bp

nn = bp.nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4))
        self.head = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(bp.ones(1))
        self.register_buffer("steps", bp.zeros([], dtype=bp.int64))

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def test_registration_and_names_follow_torch():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias", "head.weight"]
    assert list(net.state_dict()) == [
        "scale", "steps", "body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias",
        "body.2.running_mean", "body.2.running_var", "body.2.num_batches_tracked", "head.weight"]
    assert [n for n, _ in net.named_children()] == ["body", "head"]
    assert len(list(net.modules())) == 6
    assert all(isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf for p in net.parameters())


def test_state_dict_matches_torch_keys():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4), nn.LayerNorm(4), nn.Embedding(5, 4))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.BatchNorm1d(4),
                                 torch.nn.LayerNorm(4), torch.nn.Embedding(5, 4))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, v), (_, tv) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert v.shape == tuple(tv.shape), k


def test_load_state_dict_round_trip_and_errors(tmp_path):
    a, b = Net(), Net()
    with bp.no_grad():
        a.head.weight.fill_(3.0)
    bp.save(a.state_dict(), tmp_path / "net.safetensors")
    b.load_state_dict(bp.load(tmp_path / "net.safetensors"))
    np.testing.assert_array_equal(b.head.weight.detach().numpy(), np.full((2, 4), 3.0, np.float32))

    sd = a.state_dict()
    missing = {k: v for k, v in sd.items() if k != "head.weight"}
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "head.weight"'):
        b.load_state_dict(missing)
    extra = dict(sd, **{"tail.weight": bp.zeros(1)})
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "tail.weight"'):
        b.load_state_dict(extra)
    wrong = dict(sd, **{"head.weight": bp.zeros(3, 3)})
    with pytest.raises(RuntimeError, match="size mismatch for head.weight"):
        b.load_state_dict(wrong)
    result = b.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["head.weight"]


def test_modes_zero_grad_and_apply():
    net = Net()
    net.eval()
    assert not net.training and not net.body[2].training
    net.train()
    assert net.body[2].training
    net(bp.randn(5, 3)).sum().backward()
    assert net.head.weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert net.head.weight.grad.abs().sum().item() == 0
    net.zero_grad()
    assert net.head.weight.grad is None
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and "Linear" in seen


def test_to_double_keeps_parameter_identity():
    net = Net()
    params = list(net.parameters())
    opt = bp.optim.SGD(net.parameters(), lr=0.1)
    net.double()
    assert all(p is q for p, q in zip(params, net.parameters()))
    assert all(p.dtype == bp.float64 for p in net.parameters())
    assert net.body[2].running_mean.dtype == bp.float64
    assert net.steps.dtype == bp.int64
    out = net(bp.randn(4, 3, dtype=bp.float64))
    out.sum().backward()
    opt.step()
    net.float()
    assert net.head.weight.dtype == bp.float32


def test_repr_reads_like_torch():
    text = repr(nn.Sequential(nn.Linear(3, 4), nn.ReLU()))
    assert text == ("Sequential(\n  (0): Linear(in_features=3, out_features=4, bias=True)\n  (1): ReLU()\n)")


def test_sequential_container_api():
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    seq.append(nn.Linear(2, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(ml.parameters())) == 6


def test_bad_assignments_raise():
    net = Net()
    with pytest.raises(TypeError, match="Parameter or None expected"):
        net.register_parameter("w", bp.ones(2))
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        net.missing


def test_deepcopy_gives_an_independent_model():
    import copy

    net = Net()
    twin = copy.deepcopy(net)
    assert all(isinstance(p, nn.Parameter) for p in twin.parameters())
    with bp.no_grad():
        twin.head.weight.fill_(7.0)
    assert net.head.weight.detach().numpy().max() < 7.0
    assert list(twin.state_dict()) == list(net.state_dict())
