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


def _build(lib):
    """The same nested model in backprop and in PyTorch."""
    n = lib.nn

    class Block(n.Module):
        def __init__(self):
            super().__init__()
            self.norm = n.LayerNorm(8)
            self.ff = n.Sequential(n.Linear(8, 16), n.GELU(), n.Dropout(0.1), n.Linear(16, 8))

        def forward(self, x):
            return x + self.ff(self.norm(x))

    class Model(n.Module):
        def __init__(self):
            super().__init__()
            self.embed = n.Embedding(20, 8, padding_idx=0)
            self.blocks = n.ModuleList([Block(), Block()])
            self.bn = n.BatchNorm1d(8, momentum=None, bias=False)
            self.head = n.Sequential(n.Flatten(), n.Linear(8, 3, bias=False), n.LeakyReLU(0.2), n.Softmax(dim=-1))
            self.loss = n.CrossEntropyLoss(weight=lib.ones(3), label_smoothing=0.1)

        def forward(self, idx):
            h = self.embed(idx)
            for block in self.blocks:
                h = block(h)
            return self.head(self.bn(h))

    return Model()


def test_nested_model_names_keys_and_repr_equal_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _build(bp), _build(torch)
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, v), tv in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert v.shape == tuple(tv.shape), k
    assert ours.get_submodule("blocks.1.ff.3") is ours.blocks[1].ff[3]


def test_weights_move_between_the_libraries_through_state_dict():
    torch = pytest.importorskip("torch")
    ours, theirs = _build(bp), _build(torch)
    theirs.train()
    theirs(torch.randint(0, 20, (5,)))  # running statistics move away from their defaults
    state = {k: bp.tensor(v.numpy()) for k, v in theirs.state_dict().items()}
    result = ours.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    ours.eval()
    theirs.eval()
    idx = np.array([1, 0, 7, 19])
    np.testing.assert_allclose(ours(bp.tensor(idx)).detach().numpy(), theirs(torch.tensor(idx)).detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    back = {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(back)


def test_load_state_dict_messages_follow_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    state = {k: v for k, v in ours.state_dict().items() if k != "0.bias"}
    state["2.weight"] = bp.zeros(3)
    tstate = {k: v for k, v in theirs.state_dict().items() if k != "0.bias"}
    tstate["2.weight"] = torch.zeros(3)
    with pytest.raises(RuntimeError) as ours_error:
        ours.load_state_dict(state)
    with pytest.raises(RuntimeError) as torch_error:
        theirs.load_state_dict(tstate)
    ours_lines = str(ours_error.value).split("\n\t")
    torch_lines = str(torch_error.value).split("\n\t")
    assert ours_lines[0] == torch_lines[0] == "Error(s) in loading state_dict for Sequential:"
    assert [line.rstrip(" .") for line in ours_lines[1:]] == [line.rstrip(" .") for line in torch_lines[1:]]

    missing, unexpected = ours.load_state_dict(state, strict=False)  # a named tuple, as in PyTorch
    assert (missing, unexpected) == (["0.bias"], ["2.weight"])
    tmissing, tunexpected = theirs.load_state_dict(tstate, strict=False)
    assert (missing, unexpected) == (tmissing, tunexpected)

    wrong = dict(ours.state_dict(), **{"1.running_mean": bp.zeros(4)})
    for strict in (True, False):  # a size mismatch raises even when not strict, as in PyTorch
        with pytest.raises(RuntimeError, match="size mismatch for 1.running_mean: copying a param with shape"):
            ours.load_state_dict(wrong, strict=strict)
    with pytest.raises(TypeError, match="expected a Tensor"):
        ours.load_state_dict(dict(ours.state_dict(), **{"0.bias": [1.0, 2.0, 3.0]}))


def test_load_state_dict_copies_values_into_the_same_objects():
    a, b = Net(), Net()
    weight = b.head.weight
    a.body[2].running_mean.fill_(4.0)
    b.load_state_dict(a.state_dict())
    assert b.head.weight is weight and weight.requires_grad and weight.is_leaf
    np.testing.assert_array_equal(b.head.weight.detach().numpy(), a.head.weight.detach().numpy())
    assert b.body[2].running_mean.tolist() == [4.0] * 4
    sd = b.state_dict()
    assert not sd["head.weight"].requires_grad  # detached, as state_dict() gives in PyTorch
    assert b.state_dict(keep_vars=True)["head.weight"] is weight


def test_deepcopy_gives_an_independent_model():
    import copy

    net = Net()
    net(bp.randn(4, 3)).sum().backward()
    twin = copy.deepcopy(net)
    assert repr(twin) == repr(net)
    assert list(twin.state_dict()) == list(net.state_dict())
    assert all(isinstance(p, nn.Parameter) for p in twin.parameters())
    for (name, p), (_, q) in zip(net.named_parameters(), twin.named_parameters()):
        assert p is not q and p.data_ptr() != q.data_ptr(), name
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    with bp.no_grad():
        twin.head.weight.fill_(0.0)
    twin.body[2].running_var.fill_(9.0)
    assert net.head.weight.abs().sum().item() > 0
    assert net.body[2].running_var.tolist() != [9.0] * 4
    shared = nn.Linear(2, 2)
    tied = copy.deepcopy(nn.Sequential(shared, shared))
    assert tied[0] is tied[1]  # sharing survives the copy, as in PyTorch


def test_train_eval_reach_overridden_train_and_duplicates_are_listed_once():
    calls = []

    class Noisy(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    shared = nn.Linear(2, 2)
    outer = nn.Sequential(Noisy(), shared, shared)
    outer.eval()
    outer.train()
    assert calls == [False, True]
    assert len(list(outer.parameters())) == 2
    assert len(list(outer.modules())) == 3
    assert len(list(outer.named_modules(remove_duplicate=False))) == 4


def test_sequential_and_module_list_edits_follow_torch():
    torch = pytest.importorskip("torch")

    def edits(n):
        seq = n.Sequential(n.ReLU(), n.Tanh(), n.Sigmoid(), n.GELU())
        del seq[1]
        seq.insert(0, n.Identity())
        seq.extend([n.LeakyReLU(0.3)])
        popped = seq.pop(2)
        del seq[-2:]
        ml = n.ModuleList([n.ReLU(), n.Tanh()])
        ml += [n.Sigmoid()]
        ml.insert(1, n.Identity())
        del ml[0]
        ml[0] = n.Softplus()
        return repr(seq), type(popped).__name__, repr(ml), repr(ml[1:]), repr(seq[0:1])

    assert edits(nn) == edits(torch.nn)
    with pytest.raises(IndexError):
        nn.Sequential(nn.ReLU())[3]
    with pytest.raises(IndexError):
        nn.ModuleList([nn.ReLU()])[-2]


def test_module_to_moves_loss_weights_and_batchnorm_without_bias():
    torch = pytest.importorskip("torch")
    loss = nn.BCEWithLogitsLoss(pos_weight=bp.ones(3), weight=bp.ones(3))
    assert list(loss.state_dict()) == list(torch.nn.BCEWithLogitsLoss(pos_weight=torch.ones(3),
                                                                        weight=torch.ones(3)).state_dict())
    loss.double()
    assert loss.pos_weight.dtype == bp.float64 and loss.weight.dtype == bp.float64
    x = bp.zeros(2, 3, dtype=bp.float64, requires_grad=True)
    loss(x, bp.ones(2, 3, dtype=bp.float64)).backward()
    bn, tbn = nn.BatchNorm1d(4, bias=False), torch.nn.BatchNorm1d(4, bias=False)
    assert list(bn.state_dict()) == list(tbn.state_dict()) and repr(bn) == repr(tbn)
    assert repr(nn.LayerNorm([2, 3], bias=False)) == repr(torch.nn.LayerNorm([2, 3], bias=False))


def test_to_accepts_torch_call_forms():
    net = Net()
    assert net.to("cpu") is net and net.cpu() is net and net.to(device="cpu") is net
    net.to("cpu", bp.float64)
    assert net.head.weight.dtype == bp.float64
    net.to(dtype="float32")
    assert net.head.weight.dtype == bp.float32
    net.to(bp.zeros(1, dtype=bp.float64))
    assert net.body[2].running_var.dtype == bp.float64 and net.steps.dtype == bp.int64
    with pytest.raises(TypeError, match="CPU only"):
        net.to("cuda")
    with pytest.raises(TypeError, match="only accepts floating point"):
        net.to(bp.int64)
    with pytest.raises(TypeError, match="CPU only"):
        nn.Linear(2, 2, device="cuda")
