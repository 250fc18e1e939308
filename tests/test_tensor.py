"""Tensors: dtypes, ranks, strided views, factories, seeding, metadata, repr and in-place writes."""

import numpy as np
import pytest

import backprop as bp


def test_default_dtype_is_float32():
    assert bp.tensor([1.0, 2.0]).dtype == bp.float32
    assert bp.tensor(1.5).dtype == bp.float32
    assert bp.zeros(2).dtype == bp.float32
    assert bp.rand(2).dtype == bp.float32
    assert bp.float == bp.float32 and bp.double == bp.float64 and bp.long == bp.int64


@pytest.mark.parametrize(
    "data,dtype",
    [([1, 2], bp.int64), ([True, False], bp.bool), ([1.0], bp.float32), (np.array([1.0]), bp.float64),
     (np.array([1], dtype=np.int32), bp.int64), (3, bp.int64), (True, bp.bool), (2.5, bp.float32)],
)
def test_dtype_inference(data, dtype):
    assert bp.tensor(data).dtype == dtype


@pytest.mark.parametrize("dtype", [bp.float32, bp.float64, bp.int64, bp.bool])
def test_explicit_dtypes_roundtrip(dtype):
    t = bp.tensor([[0, 1], [1, 0]], dtype=dtype)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.numpy(), np.array([[0, 1], [1, 0]]).astype(t.numpy().dtype))
    assert t.numpy().dtype == {bp.float32: np.float32, bp.float64: np.float64, bp.int64: np.int64,
                               bp.bool: np.bool_}[dtype]


def test_dtype_given_as_string_numpy_or_python_type():
    assert bp.zeros(2, dtype="float64").dtype == bp.float64
    assert bp.zeros(2, dtype=np.int64).dtype == bp.int64
    assert bp.tensor([1, 2], dtype=float).dtype == bp.float64
    assert bp.ones(2, dtype=bool).dtype == bp.bool


def test_scalars_are_zero_dimensional():
    for t in (bp.tensor(2.5), bp.tensor(3), bp.tensor(True), bp.tensor(np.float64(1.0)), bp.ones(())):
        assert t.shape == () and t.ndim == 0 and t.numel() == 1
    assert bp.tensor(2.5).item() == 2.5


@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 0, 3), (1, 2, 3, 4, 1), (2,) * 10])
def test_any_rank(shape):
    t = bp.ones(*shape) if shape else bp.ones(())
    assert t.shape == shape
    assert t.ndim == len(shape)
    assert t.numel() == int(np.prod(shape))
    assert t.sum().item() == t.numel()
    np.testing.assert_array_equal((t * 2).numpy(), np.full(shape, 2.0, dtype=np.float32))


def test_many_non_mergeable_dims():
    a = np.arange(2**18, dtype=np.float64).reshape((2,) * 18)
    t = bp.tensor(a).permute(*range(17, -1, -1))
    np.testing.assert_array_equal((t + 1).numpy(), a.transpose(range(17, -1, -1)) + 1)
    assert (t * 0).exp().sum().item() == 2**18
    assert t.sum(dim=(0, 5, 17)).shape == (2,) * 15


def test_shape_size_stride():
    t = bp.zeros(2, 3, 4)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.stride() == (12, 4, 1) and t.stride(0) == 12
    assert t.dim() == 3 and len(t) == 2
    assert t.is_contiguous() and t.is_floating_point()
    assert not bp.zeros(2, dtype=bp.int64).is_floating_point()


def test_strided_views_share_storage():
    base = bp.arange(12, dtype=bp.float32).reshape(3, 4)
    v = base.t()
    assert v.shape == (4, 3) and v.stride() == (1, 4) and not v.is_contiguous()
    v[0, 1] = 100.0
    assert base[1, 0].item() == 100.0
    s = base[:, 1::2]
    assert s.shape == (3, 2) and s.stride() == (4, 2)
    s[...] = -1.0
    np.testing.assert_array_equal(base.numpy()[:, 1::2], -np.ones((3, 2)))
    row = base[2]
    row.fill_(7.0)
    np.testing.assert_array_equal(base.numpy()[2], [7.0] * 4)
    e = bp.ones(3, 1).expand(3, 4)
    assert e.stride() == (1, 0)
    np.testing.assert_array_equal(e.contiguous().numpy(), np.ones((3, 4)))


def test_ops_on_non_contiguous_inputs_match_numpy(rng):
    a = rng.normal(size=(4, 6))
    t = bp.tensor(a)
    for view, ref in [(t.t(), a.T), (t[::2, 1::2], a[::2, 1::2]), (t.permute(1, 0)[1:], a.T[1:])]:
        np.testing.assert_allclose((view.exp() + view * 2).numpy(), np.exp(ref) + ref * 2, rtol=1e-6)
        np.testing.assert_allclose(view.sum(0).numpy(), ref.sum(0), rtol=1e-6)
        np.testing.assert_allclose(view.softmax(-1).numpy(), np.exp(ref) / np.exp(ref).sum(-1, keepdims=True),
                                   rtol=1e-6)
        np.testing.assert_allclose(view.reshape(-1).numpy(), ref.reshape(-1))
        np.testing.assert_allclose((view @ view.T).numpy(), ref @ ref.T, rtol=1e-6)


def test_view_and_reshape():
    t = bp.arange(6)
    v = t.view(2, 3)
    assert v.shape == (2, 3)
    v[0, 0] = 10
    assert t[0].item() == 10
    assert t.reshape(3, -1).shape == (3, 2)
    assert t.view(-1, 1, 2).shape == (3, 1, 2)


def test_squeeze_unsqueeze_flatten_expand_permute():
    t = bp.zeros(1, 3, 1, 2)
    assert t.squeeze().shape == (3, 2)
    assert t.squeeze(0).shape == (3, 1, 2)
    assert t.squeeze(1).shape == (1, 3, 1, 2)
    assert t.unsqueeze(-1).shape == (1, 3, 1, 2, 1)
    assert t.flatten().shape == (6,)
    assert t.flatten(1).shape == (1, 6)
    assert bp.zeros(3, 1).expand(2, 3, 4).shape == (2, 3, 4)
    assert t.permute(3, 1, 0, 2).shape == (2, 3, 1, 1)
    assert bp.zeros(2, 3, 4).T.shape == (4, 3, 2)
    assert bp.zeros(2, 3).transpose(0, 1).shape == (3, 2)


def test_cat_and_stack_values():
    a, b = bp.tensor([[1, 2]]), bp.tensor([[3, 4]])
    np.testing.assert_array_equal(bp.cat([a, b]).numpy(), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(bp.cat((a, b), dim=1).numpy(), [[1, 2, 3, 4]])
    np.testing.assert_array_equal(bp.stack([a, b]).numpy(), [[[1, 2]], [[3, 4]]])
    assert bp.stack([a, b], dim=2).shape == (1, 2, 2)


def test_indexing_matches_numpy(rng):
    a = rng.normal(size=(4, 5, 3))
    t = bp.tensor(a)
    idx = np.array([3, 0, 0])
    mask = a[:, 0, 0] > 0
    cases = [
        (lambda x: x[1], lambda x: x[1]),
        (lambda x: x[-1, 2], lambda x: x[-1, 2]),
        (lambda x: x[1:3, ::2], lambda x: x[1:3, ::2]),
        (lambda x: x[..., 1], lambda x: x[..., 1]),
        (lambda x: x[None, :, None, 0], lambda x: x[None, :, None, 0]),
        (lambda x: x[[0, 2]], lambda x: x[[0, 2]]),
        (lambda x: x[:, [4, 1]], lambda x: x[:, [4, 1]]),
        (lambda x: x[bp.tensor(idx)], lambda x: x[idx]),
        (lambda x: x[idx], lambda x: x[idx]),
        (lambda x: x[[0, 1], [2, 3]], lambda x: x[[0, 1], [2, 3]]),
        (lambda x: x[[0, 1], :, [2, 0]], lambda x: x[[0, 1], :, [2, 0]]),
        (lambda x: x[:, [0, 1], [2, 0]], lambda x: x[:, [0, 1], [2, 0]]),
        (lambda x: x[bp.tensor(mask)], lambda x: x[mask]),
        (lambda x: x[x > 0], lambda x: x[x > 0]),
        (lambda x: x[1:, x[0, :, 0] > 0], lambda x: x[1:, x[0, :, 0] > 0]),
        (lambda x: x[100:], lambda x: x[100:]),
        (lambda x: x[-100:2], lambda x: x[-100:2]),
    ]
    for f, g in cases:
        np.testing.assert_array_equal(f(t).numpy(), g(a))


def test_setitem_matches_numpy(rng):
    a = rng.normal(size=(4, 5))
    t = bp.tensor(a)
    a = a.copy()
    for f in [
        lambda x: x.__setitem__(1, 0.5),
        lambda x: x.__setitem__((slice(None), 2), -1.0),
        lambda x: x.__setitem__([0, 3], 7.0),
        lambda x: x.__setitem__((Ellipsis, slice(0, 2)), 3.0),
    ]:
        f(t)
        f(a)
    t[t > 1] = 0.0
    a[a > 1] = 0.0
    t[[1, 2], [0, 4]] = bp.tensor([8.0, 9.0], dtype=bp.float64)
    a[[1, 2], [0, 4]] = [8.0, 9.0]
    np.testing.assert_array_equal(t.numpy(), a)


def test_factories():
    bp.manual_seed(0)
    assert bp.zeros(2, 3).numpy().sum() == 0
    assert bp.zeros((2, 3)).shape == (2, 3)
    np.testing.assert_array_equal(bp.ones(2).numpy(), [1.0, 1.0])
    f = bp.full((2, 2), 3.5)
    assert f.dtype == bp.float32 and (f.numpy() == 3.5).all()
    assert bp.full((2,), 3).dtype == bp.int64
    assert bp.full((2,), True).dtype == bp.bool
    np.testing.assert_array_equal(bp.arange(5).numpy(), np.arange(5))
    assert bp.arange(5).dtype == bp.int64
    np.testing.assert_allclose(bp.arange(1, 2, 0.25).numpy(), [1.0, 1.25, 1.5, 1.75])
    assert bp.arange(1, 2, 0.25).dtype == bp.float32
    np.testing.assert_array_equal(bp.arange(5, 0, -2).numpy(), [5, 3, 1])
    assert bp.arange(3, dtype=bp.float64).dtype == bp.float64
    r = bp.rand(1000)
    assert r.shape == (1000,) and 0 <= r.numpy().min() and r.numpy().max() < 1
    n = bp.randn(10000, dtype=bp.float64)
    assert abs(n.numpy().mean()) < 0.05 and abs(n.numpy().std() - 1) < 0.05
    like = bp.ones(2, 3, dtype=bp.float64)
    z, o = bp.zeros_like(like), bp.ones_like(like)
    assert z.shape == o.shape == (2, 3) and z.dtype == o.dtype == bp.float64
    assert z.numpy().sum() == 0 and o.numpy().sum() == 6
    assert bp.zeros_like(like, dtype=bp.int64).dtype == bp.int64
    assert bp.ones_like(like, requires_grad=True).requires_grad
    assert bp.zeros(2, requires_grad=True).requires_grad
    assert bp.rand(2, dtype=bp.float64, requires_grad=True).requires_grad


def test_manual_seed_reproduces_random_tensors():
    bp.manual_seed(42)
    a, b = bp.rand(5), bp.randn(3, 2)
    bp.manual_seed(42)
    np.testing.assert_array_equal(a.numpy(), bp.rand(5).numpy())
    np.testing.assert_array_equal(b.numpy(), bp.randn(3, 2).numpy())
    bp.manual_seed(43)
    assert not np.array_equal(a.numpy(), bp.rand(5).numpy())


def test_item_tolist_numel_ndim():
    assert bp.tensor(2.5).item() == 2.5
    assert isinstance(bp.tensor(3).item(), int) and bp.tensor(3).item() == 3
    assert bp.tensor(True).item() is True
    assert isinstance(bp.tensor([1.5]).item(), float)
    assert bp.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert bp.tensor([0.5, 1.5]).tolist() == [0.5, 1.5]
    assert bp.tensor(1.5).tolist() == 1.5
    assert bp.zeros(2, 3, 4).numel() == 24 and bp.zeros(2, 3, 4).ndim == 3
    assert float(bp.tensor(2.0)) == 2.0 and int(bp.tensor(7)) == 7
    assert bool(bp.tensor([1.0])) and not bool(bp.tensor(0))
    assert [1, 2, 3][bp.tensor(1)] == 2
    assert [x.item() for x in bp.tensor([4, 5])] == [4, 5]


def test_repr_shows_values_dtype_and_grad_fn():
    x = bp.tensor([1.5, -2.0], requires_grad=True)
    r = repr(x)
    assert "1.5" in r and "-2." in r and "float32" in r and "requires_grad=True" in r
    y = x * 2
    r = repr(y)
    assert "3." in r and "-4." in r and "grad_fn=<MulBackward0>" in r
    assert "float64" in repr(bp.zeros(2, dtype=bp.float64))
    assert "int64" in repr(bp.tensor([1, 2])) and "1" in repr(bp.tensor([1, 2]))
    assert "bool" in repr(bp.tensor([True]))
    assert "2.5" in str(bp.tensor(2.5))
    assert repr(bp.zeros(0)).startswith("tensor(")
    assert "tensor(" in repr(bp.zeros(2000))  # summarised, but still printable
    assert f"{bp.tensor(2.5):.2f}" == "2.50"


def test_dtype_conversions():
    t = bp.tensor([1.7, -2.2])
    assert t.double().dtype == bp.float64
    np.testing.assert_array_equal(t.long().numpy(), [1, -2])
    np.testing.assert_array_equal(t.bool().numpy(), [True, True])
    assert t.to(bp.float64).dtype == bp.float64
    assert t.to(dtype=bp.int64).dtype == bp.int64
    assert t.float() is not None and t.to(bp.float32).dtype == bp.float32


def test_int_and_bool_into_float_ops_promote():
    i = bp.tensor([1, 4])
    assert i.sqrt().dtype == bp.float32
    np.testing.assert_allclose(i.sqrt().numpy(), [1.0, 2.0])
    np.testing.assert_allclose(bp.tensor([True, False]).exp().numpy(), [np.e, 1.0], rtol=1e-6)
    assert (i + bp.ones(2, dtype=bp.float64)).dtype == bp.float64
    assert (i / 2).dtype == bp.float32
    assert (bp.tensor([True]) * 2).dtype == bp.int64
    assert i.softmax(0).dtype == bp.float32


def test_inplace_ops_bump_version_and_write():
    t = bp.zeros(3)
    t.add_(1)
    t.mul_(3)
    t.sub_(bp.ones(3))
    t.div_(2)
    np.testing.assert_array_equal(t.numpy(), [1.0, 1.0, 1.0])
    t += bp.tensor([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(t.numpy(), [2.0, 3.0, 4.0])
    t.clamp_(max=3.0)
    np.testing.assert_array_equal(t.numpy(), [2.0, 3.0, 3.0])
    t.copy_(bp.tensor([5, 6, 7]))
    np.testing.assert_array_equal(t.numpy(), [5.0, 6.0, 7.0])
    t.zero_()
    assert t.numpy().sum() == 0


def test_clone_is_a_deep_copy():
    a = bp.tensor([1.0, 2.0])
    b = a.clone()
    b[0] = 9.0
    assert a[0].item() == 1.0


def test_reductions_values(rng):
    a = rng.normal(size=(3, 4, 5))
    t = bp.tensor(a)
    np.testing.assert_allclose(t.sum().item(), a.sum())
    np.testing.assert_allclose(t.sum((0, 2)).numpy(), a.sum((0, 2)))
    np.testing.assert_allclose(t.mean(1, keepdim=True).numpy(), a.mean(1, keepdims=True))
    np.testing.assert_allclose(t.max().item(), a.max())
    np.testing.assert_allclose(t.min().item(), a.min())
    v, i = t.max(dim=2)
    np.testing.assert_allclose(v.numpy(), a.max(2))
    np.testing.assert_array_equal(i.numpy(), a.argmax(2))
    np.testing.assert_array_equal(t.argmax().item(), a.argmax())
    np.testing.assert_array_equal(t.argmax(1).numpy(), a.argmax(1))
    np.testing.assert_allclose(t.logsumexp(1).numpy(), np.log(np.exp(a).sum(1)))
    assert bp.tensor([[1, 2], [3, 4]]).sum().item() == 10


def test_logsumexp_is_stable():
    t = bp.tensor([1000.0, 1000.0], dtype=bp.float64)
    np.testing.assert_allclose(t.logsumexp(0).item(), 1000.0 + np.log(2.0))
    np.testing.assert_allclose(bp.tensor([-1000.0, 0.0]).softmax(0).numpy(), [0.0, 1.0])
    assert bp.tensor([-np.inf, -np.inf]).logsumexp(0).item() == -np.inf


def test_empty_tensor_ops():
    e = bp.zeros(0, 3)
    assert e.sum().item() == 0
    assert e.sum(0).shape == (3,)
    assert (e + 1).shape == (0, 3)
    assert e.softmax(1).shape == (0, 3)
    assert (e @ bp.ones(3, 2)).shape == (0, 2)
    np.testing.assert_array_equal((bp.zeros(2, 0) @ bp.zeros(0, 3)).numpy(), np.zeros((2, 3)))
    assert (bp.zeros(4, 2, 0) @ bp.zeros(0, 3)).shape == (4, 2, 3)
    assert (bp.zeros(4, 2, 0) @ bp.zeros(4, 0, 3)).shape == (4, 2, 3)
    assert bp.cat([e, bp.ones(2, 3)]).shape == (2, 3)
    assert e.tolist() == []


@pytest.mark.parametrize("index", [True, False, (True, 0), [], (slice(None), []), (0, False)])
def test_bool_and_empty_indices_match_torch(index):
    torch = pytest.importorskip("torch")
    x = bp.arange(6).reshape(2, 3)
    expected = torch.arange(6).reshape(2, 3)[index]
    got = x[index]
    assert got.shape == tuple(expected.shape)
    assert got.tolist() == expected.tolist()


def test_logsumexp_of_empty_extent_is_minus_inf():
    out = bp.logsumexp(bp.zeros(0, 3), 0)
    assert out.shape == (3,)
    assert np.all(np.isneginf(out.numpy()))


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_int_of_non_finite_raises(value):
    with pytest.raises(ValueError, match="cannot convert"):
        int(bp.tensor(value))
