"""Layers and losses against PyTorch, with the same weights copied in."""

import numpy as np
import pytest

import backprop as bp

nn = bp.nn


def copy_params(ours, theirs):
    with bp.no_grad():
        for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            assert name == tname
            p.copy_(bp.tensor(tp.detach().numpy()))


def grads_match(ours, theirs, rtol=1e-5, atol=1e-6):
    for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=atol, err_msg=name)


def run_both(ours, theirs, x_np, train=True):
    torch = pytest.importorskip("torch")
    ours.train(train)
    theirs.train(train)
    x = bp.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    w = np.random.default_rng(5).standard_normal(ty.shape).astype(x_np.dtype)
    (y * bp.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    return y, ty


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shape", [(8, 5), (6, 5, 7)])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm1d_matches_torch(train, shape, affine):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm1d(5, affine=affine), torch.nn.BatchNorm1d(5, affine=affine)
    rng = np.random.default_rng(0)
    if affine:
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(rng.standard_normal(5).astype(np.float32)))
            theirs.bias.copy_(torch.tensor(rng.standard_normal(5).astype(np.float32)))
        copy_params(ours, theirs)
    for step in range(3):  # running statistics evolve over several batches
        x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
        run_both(ours, theirs, x, train=True)
        if affine:
            grads_match(ours, theirs, rtol=1e-4, atol=1e-4)
            for p in ours.parameters():
                p.grad = None
            theirs.zero_grad()
    np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-5, atol=1e-6)
    assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == 3
    x = rng.standard_normal(shape).astype(np.float32)
    run_both(ours, theirs, x, train=train)


@pytest.mark.parametrize("shape,normalized", [((4, 6), (6,)), ((2, 3, 4), (3, 4)), ((2, 3, 4), (4,))])
@pytest.mark.parametrize("train", [True, False])
def test_layernorm_matches_torch(shape, normalized, train):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.LayerNorm(normalized), torch.nn.LayerNorm(normalized)
    rng = np.random.default_rng(1)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(rng.standard_normal(normalized).astype(np.float32)))
        theirs.bias.copy_(torch.tensor(rng.standard_normal(normalized).astype(np.float32)))
    copy_params(ours, theirs)
    run_both(ours, theirs, rng.standard_normal(shape).astype(np.float32), train=train)
    grads_match(ours, theirs, rtol=1e-4, atol=1e-5)


def test_dropout_eval_is_identity_and_train_scales():
    torch = pytest.importorskip("torch")
    d = nn.Dropout(0.3)
    x = bp.randn(1000, 10)
    d.eval()
    np.testing.assert_array_equal(d(x).numpy(), x.numpy())
    d.train()
    y = d(x).numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], x.numpy()[kept] / 0.7, rtol=1e-6)
    assert 0.65 < kept.mean() < 0.75
    theirs = torch.nn.Dropout(0.3).eval()
    np.testing.assert_array_equal(theirs(torch.tensor(x.numpy())).numpy(), x.numpy())


def test_dropout_gradient_uses_the_same_mask():
    x = bp.ones(500, requires_grad=True)
    y = nn.Dropout(0.5)(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.detach().numpy())


@pytest.mark.parametrize("cls,args", [
    ("ReLU", ()), ("LeakyReLU", (0.2,)), ("Sigmoid", ()), ("Tanh", ()), ("GELU", ()), ("GELU", ("tanh",)),
    ("Softmax", (1,)), ("Identity", ()), ("Flatten", ()), ("Softplus", ()),
])
def test_activation_layers_match_torch(cls, args):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((4, 3, 2)).astype(np.float32)
    run_both(getattr(nn, cls)(*args), getattr(torch.nn, cls)(*args), x)


def test_sequential_with_fused_linear_activation_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for act in ("ReLU", "Tanh", "Sigmoid"):
        ours = nn.Sequential(nn.Linear(6, 8), getattr(nn, act)(), nn.Linear(8, 3))
        theirs = torch.nn.Sequential(torch.nn.Linear(6, 8), getattr(torch.nn, act)(), torch.nn.Linear(8, 3))
        copy_params(ours, theirs)
        run_both(ours, theirs, rng.standard_normal((5, 6)).astype(np.float32))
        grads_match(ours, theirs)


def test_embedding_matches_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Embedding(10, 4, padding_idx=0), torch.nn.Embedding(10, 4, padding_idx=0)
    copy_params(ours, theirs)
    idx = np.array([[1, 2, 0], [2, 9, 1]])
    y, ty = ours(bp.tensor(idx)), theirs(torch.tensor(idx))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    w = np.random.default_rng(4).standard_normal(ty.shape).astype(np.float32)
    (y * bp.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    grads_match(ours, theirs)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_match_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((7, 4)).astype(np.float32)
    labels = np.array([0, 3, 1, 1, 2, 0, 3])
    weight = np.array([1.0, 2.0, 0.5, 1.5], dtype=np.float32)
    cases = [
        (nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1, weight=bp.tensor(weight)),
         torch.nn.CrossEntropyLoss(reduction=reduction, label_smoothing=0.1, weight=torch.tensor(weight)), labels),
        (nn.CrossEntropyLoss(reduction=reduction, ignore_index=1),
         torch.nn.CrossEntropyLoss(reduction=reduction, ignore_index=1), labels),
        (nn.NLLLoss(reduction=reduction), torch.nn.NLLLoss(reduction=reduction), labels),
        (nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction),
         rng.standard_normal((7, 4)).astype(np.float32)),
        (nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=bp.tensor(weight)),
         torch.nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=torch.tensor(weight)),
         rng.uniform(0, 1, (7, 4)).astype(np.float32)),
    ]
    for ours, theirs, target in cases:
        x, tx = bp.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
        loss, tloss = ours(x, bp.tensor(target)), theirs(tx, torch.tensor(target))
        np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=1e-5, atol=1e-6)
        loss.sum().backward()
        tloss.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_training_run_follows_torch():
    """Sequential + Adam + cross-entropy: the same losses as PyTorch from the same weights."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    ours = nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 3)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                                 torch.nn.Linear(16, 3)).double()
    copy_params(ours, theirs)
    opt, topt = bp.optim.Adam(ours.parameters(), lr=1e-2), torch.optim.Adam(theirs.parameters(), lr=1e-2, foreach=False)
    for _ in range(30):
        x = rng.standard_normal((32, 10))
        y = rng.integers(0, 3, 32)
        opt.zero_grad()
        topt.zero_grad()
        loss = bp.nn.functional.cross_entropy(ours(bp.tensor(x)), bp.tensor(y))
        tloss = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)


def test_linear_init_statistics():
    bp.manual_seed(0)
    layer = nn.Linear(400, 300)
    w = layer.weight.detach().numpy()
    bound = 1 / np.sqrt(400)
    assert w.shape == (300, 400)
    assert np.abs(w).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.02 * bound
    assert np.abs(layer.bias.detach().numpy()).max() <= bound


@pytest.mark.parametrize("kwargs", [
    dict(momentum=None), dict(track_running_stats=False), dict(bias=False), dict(momentum=0.3, eps=1e-3),
])
@pytest.mark.parametrize("shape", [(8, 5), (4, 5, 3)])
def test_batchnorm1d_options_match_torch(kwargs, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm1d(5, **kwargs).double(), torch.nn.BatchNorm1d(5, **kwargs).double()
    rng = np.random.default_rng(8)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.tensor(rng.standard_normal(5)))
    copy_params(ours, theirs)
    for _ in range(4):
        run_both(ours, theirs, rng.standard_normal(shape) * 2 + 0.5, train=True)
        grads_match(ours, theirs, rtol=1e-10, atol=1e-12)
        ours.zero_grad()
        theirs.zero_grad()
    for name, buf in theirs.named_buffers():
        np.testing.assert_allclose(getattr(ours, name).numpy(), buf.numpy(), rtol=1e-12, err_msg=name)
    run_both(ours, theirs, rng.standard_normal(shape), train=False)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        ours.train()(bp.randn(1, 5, dtype=bp.float64))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        ours(bp.randn(2, 5, 2, 2, dtype=bp.float64))


def test_dropout_eval_matches_torch_exactly_and_p_edges():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(9).standard_normal((6, 7)).astype(np.float32)
    ours, theirs = nn.Dropout(0.4).eval(), torch.nn.Dropout(0.4).eval()
    run_both(ours, theirs, x, train=False)
    assert repr(ours) == repr(theirs)
    np.testing.assert_array_equal(nn.Dropout(0.0)(bp.tensor(x)).numpy(), x)
    assert not nn.Dropout(1.0)(bp.tensor(x)).numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_linear_layout_init_and_reprs_match_torch():
    torch = pytest.importorskip("torch")
    bp.manual_seed(1)
    torch.manual_seed(1)
    for fan_in, fan_out in [(3, 2000), (512, 64)]:
        ours, theirs = nn.Linear(fan_in, fan_out), torch.nn.Linear(fan_in, fan_out)
        assert ours.weight.shape == tuple(theirs.weight.shape) and ours.bias.shape == tuple(theirs.bias.shape)
        assert repr(ours) == repr(theirs)
        for p, tp in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
            a, b = p.detach().numpy(), tp.detach().numpy()
            bound = 1 / np.sqrt(fan_in)  # both U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            assert np.abs(a).max() <= bound and np.abs(b).max() <= bound
            # Five standard errors for n draws of U(-bound, bound): std bound/sqrt(3).
            se = bound / np.sqrt(3) / np.sqrt(a.size)
            assert abs(a.mean()) < 5 * se and abs(b.mean()) < 5 * se
            assert abs(a.std() - b.std()) < 5 * np.sqrt(2) * 0.45 * se
    no_bias = nn.Linear(4, 2, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]
    assert repr(no_bias) == repr(torch.nn.Linear(4, 2, bias=False))
    x = bp.randn(2, 3, 4)
    assert no_bias(x).shape == (2, 3, 2)


def test_embedding_from_pretrained_and_constructor_follow_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    table = rng.standard_normal((6, 3)).astype(np.float32)
    ours = nn.Embedding.from_pretrained(bp.tensor(table))
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table))
    assert not ours.weight.requires_grad and not theirs.weight.requires_grad
    idx = np.array([[5, 0], [2, 2]])
    np.testing.assert_array_equal(ours(bp.tensor(idx)).numpy(), theirs(torch.tensor(idx)).numpy())
    ours = nn.Embedding.from_pretrained(bp.tensor(table), freeze=False, padding_idx=-1)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=False, padding_idx=-1)
    assert ours.padding_idx == theirs.padding_idx == 5 and repr(ours) == repr(theirs)
    (ours(bp.tensor(idx)) ** 2).sum().backward()
    (theirs(torch.tensor(idx)) ** 2).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(3, 2, max_norm=1.0)
