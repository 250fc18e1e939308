"""Behaviour of the issue-13 ops that the op table cannot express: dtypes, ties, NaN, empty and
integer inputs, named tuples, in-place variants, double backward and error messages."""

import math

import numpy as np
import pytest

import backprop as bp


def _torch():
    return pytest.importorskip("torch")


def _needs_create_graph():
    """Double backward through these ops needs the engine's create_graph, built on another branch."""
    x = bp.tensor([1.0], requires_grad=True)
    try:
        bp.autograd.grad((x * x).sum(), x, create_graph=True)
    except RuntimeError as e:
        if "not supported" in str(e):
            pytest.skip("autograd.grad(create_graph=True) is not available in this build")
        raise


# ---- rounding and pointwise ------------------------------------------------------------------


def test_round_is_half_to_even_with_decimals():
    x = bp.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 1.25, 1234.5], dtype=bp.float64)
    np.testing.assert_array_equal(x.round().numpy(), [0.0, 2.0, 2.0, -0.0, -2.0, 1.0, 1234.0])
    np.testing.assert_allclose(bp.round(x, decimals=1).numpy(), [0.5, 1.5, 2.5, -0.5, -1.5, 1.2, 1234.5])
    np.testing.assert_array_equal(x.round(decimals=-2).numpy()[-1], 1200.0)


@pytest.mark.parametrize("name", ["round", "floor", "ceil", "trunc"])
def test_rounding_int64_is_identity(name):
    x = bp.tensor([-3, 0, 7])
    y = getattr(bp, name)(x)
    assert y.dtype == bp.int64
    np.testing.assert_array_equal(y.numpy(), [-3, 0, 7])
    y[0] = 5  # a copy, not an alias
    assert x[0].item() == -3


def test_round_decimals_on_int64_raises():
    with pytest.raises(TypeError, match="round: decimals"):
        bp.round(bp.tensor([1, 2]), decimals=1)


def test_sign_int64_nan_and_bool():
    s = bp.sign(bp.tensor([-4, 0, 9]))
    assert s.dtype == bp.int64
    np.testing.assert_array_equal(s.numpy(), [-1, 0, 1])
    np.testing.assert_array_equal(bp.tensor([math.nan, -0.0, 2.0]).sign().numpy(), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(bp.sign(bp.tensor([True, False])).numpy(), [True, False])


def test_rounding_gradient_is_zero():
    x = bp.tensor([0.3, 1.7, -2.2], requires_grad=True)
    (bp.floor(x) + bp.ceil(x) + bp.round(x) + bp.trunc(x) + bp.sign(x)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_integer_inputs_of_float_math_give_float32():
    x = bp.tensor([1, 2, 4])
    for name in ["rsqrt", "reciprocal", "log1p", "expm1", "log2", "log10", "erf"]:
        assert getattr(bp, name)(x).dtype == bp.float32, name
    assert bp.atan2(x, x).dtype == bp.float32
    assert bp.square(x).dtype == bp.int64
    np.testing.assert_array_equal(bp.square(x).numpy(), [1, 4, 16])
    np.testing.assert_allclose(bp.log2(x).numpy(), [0.0, 1.0, 2.0])


def test_pointwise_values_match_torch(rng):
    torch = _torch()
    a = rng.uniform(0.1, 3.0, size=(4, 5))
    for name in ["rsqrt", "reciprocal", "log1p", "expm1", "log2", "log10", "erf", "square", "sign", "floor"]:
        np.testing.assert_allclose(getattr(bp, name)(bp.tensor(a)).numpy(), getattr(torch, name)(torch.tensor(a)).numpy(),
                                   rtol=1e-12, err_msg=name)
    b = rng.normal(size=(5,))
    np.testing.assert_allclose(bp.atan2(bp.tensor(a), bp.tensor(b)).numpy(),
                               torch.atan2(torch.tensor(a), torch.tensor(b)).numpy(), rtol=1e-12)
    np.testing.assert_allclose(bp.hypot(bp.tensor(a), 2.0).numpy(), torch.hypot(torch.tensor(a), torch.tensor(2.0)).numpy())


def test_second_derivatives_of_pointwise_ops():
    _needs_create_graph()
    x = bp.tensor([0.7, 1.3], dtype=bp.float64, requires_grad=True)
    for name, d2 in [
        ("rsqrt", lambda v: 0.75 * v**-2.5),
        ("reciprocal", lambda v: 2 / v**3),
        ("log1p", lambda v: -1 / (1 + v) ** 2),
        ("erf", lambda v: -4 * v / math.sqrt(math.pi) * np.exp(-(v**2))),
    ]:
        (g,) = bp.autograd.grad(getattr(bp, name)(x).sum(), x, create_graph=True)
        (h,) = bp.autograd.grad(g.sum(), x)
        np.testing.assert_allclose(h.numpy(), d2(np.array([0.7, 1.3])), rtol=1e-10, err_msg=name)


def test_masked_fill_and_inplace():
    x = bp.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    m = bp.tensor([True, False, True])
    np.testing.assert_array_equal(x.masked_fill(m, -1).numpy(), [[-1, 2, -1], [-1, 5, -1]])
    assert x.masked_fill_(m, 0.0) is x
    np.testing.assert_array_equal(x.numpy(), [[0, 2, 0], [0, 5, 0]])
    i = bp.tensor([1, 2, 3])
    assert bp.masked_fill(i, m, 7).dtype == bp.int64
    with pytest.raises(TypeError, match="masked_fill: expected a bool mask"):
        x.masked_fill(bp.tensor([1, 0, 1]), 1.0)
    with pytest.raises(ValueError, match="masked_fill.*must broadcast"):
        bp.masked_fill(bp.zeros(3), bp.tensor([[True], [False]]), 1.0)
    with pytest.raises(ValueError, match="0-dimensional value"):
        bp.masked_fill(bp.zeros(3), m, bp.ones(3))


def test_masked_fill_inplace_keeps_the_graph():
    a = bp.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = a * 2
    y.masked_fill_(bp.tensor([False, True, False]), 0.0)
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 0.0, 2.0])
    with pytest.raises(RuntimeError):
        a.masked_fill_(bp.tensor([True, False, False]), 0.0)  # a leaf that requires grad


def test_clamp_min_inplace():
    x = bp.tensor([-1.0, 0.5, 2.0])
    assert x.clamp_min_(0.0) is x
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.5, 2.0])
    x.clamp_max_(1.0)
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(bp.clamp_min(bp.tensor([-3, 4]), 0).numpy(), [0, 4])


# ---- cumulative --------------------------------------------------------------------------------


def test_cumsum_cumprod_dtypes_match_torch():
    torch = _torch()
    for op in ["cumsum", "cumprod"]:
        for values in ([1, 2, 3], [True, False, True]):
            b = getattr(bp, op)(bp.tensor(values), 0)
            t = getattr(torch, op)(torch.tensor(values), 0)
            assert b.dtype == bp.int64
            np.testing.assert_array_equal(b.numpy(), t.numpy())
    y = bp.tensor([1, 2]).cumsum(0, dtype=bp.float64)
    assert y.dtype == bp.float64
    assert bp.cumsum(bp.zeros(0, 3), 0).shape == (0, 3)
    np.testing.assert_array_equal(bp.cumsum(bp.tensor(2.5), 0).numpy(), 2.5)


def test_cumprod_gradient_with_zeros_matches_torch(rng):
    torch = _torch()
    a = rng.uniform(0.5, 1.5, size=(4, 6))
    a[0, 2] = 0.0
    a[1, 0] = 0.0
    a[1, 4] = 0.0
    a[2, 5] = 0.0
    a[3, :] = 0.0
    g = rng.normal(size=a.shape)
    x = bp.tensor(a, dtype=bp.float64, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    bp.cumprod(x, 1).backward(bp.tensor(g, dtype=bp.float64))
    torch.cumprod(tx, 1).backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_cumprod_double_backward_with_zeros_matches_torch(rng):
    _needs_create_graph()
    torch = _torch()
    a = np.array([[0.5, 0.0, 2.0, 1.5], [1.2, -0.7, 0.9, 1.1]])
    x = bp.tensor(a, dtype=bp.float64, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    (g,) = bp.autograd.grad((bp.cumprod(x, 1) ** 2).sum(), x, create_graph=True)
    (tg,) = torch.autograd.grad((torch.cumprod(tx, 1) ** 2).sum(), tx, create_graph=True)
    (h,) = bp.autograd.grad(g.sum(), x)
    (th,) = torch.autograd.grad(tg.sum(), tx)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-10, atol=1e-12)


def test_large_cumsum_matches_numpy(rng):
    a = rng.normal(size=(64, 700))
    np.testing.assert_allclose(bp.cumsum(bp.tensor(a, dtype=bp.float64), 1).numpy(), np.cumsum(a, 1), rtol=1e-12)
    np.testing.assert_allclose(bp.cumsum(bp.tensor(a, dtype=bp.float64), 0).numpy(), np.cumsum(a, 0), rtol=1e-12)


# ---- sorting -----------------------------------------------------------------------------------


def test_sort_returns_named_tuple_with_int64_indices():
    r = bp.sort(bp.tensor([3.0, 1.0, 2.0]))
    assert type(r).__name__ == "sort"
    values, indices = r
    assert r.values is values and r.indices is indices
    assert indices.dtype == bp.int64
    np.testing.assert_array_equal(indices.numpy(), [1, 2, 0])
    t = bp.tensor([1.0, 5.0, 3.0]).topk(2)
    assert type(t).__name__ == "topk"
    np.testing.assert_array_equal(t.values.numpy(), [5.0, 3.0])
    np.testing.assert_array_equal(t.indices.numpy(), [1, 2])


def test_sort_nan_and_ties_match_torch():
    torch = _torch()
    a = np.array([3.0, 1.0, np.nan, 1.0, 2.0, np.nan, 3.0])
    for descending in [False, True]:
        b = bp.sort(bp.tensor(a), descending=descending)
        t = torch.sort(torch.tensor(a), descending=descending, stable=True)
        np.testing.assert_array_equal(b.values.numpy(), t.values.numpy())
        np.testing.assert_array_equal(b.indices.numpy(), t.indices.numpy())
        np.testing.assert_array_equal(bp.argsort(bp.tensor(a), descending=descending).numpy(), t.indices.numpy())


def test_sort_along_dims_and_int64_match_torch(rng):
    torch = _torch()
    a = rng.integers(-3, 4, size=(3, 4, 5))
    for dim in range(-3, 3):
        b = bp.tensor(a).sort(dim=dim, descending=True)
        t = torch.tensor(a).sort(dim=dim, descending=True, stable=True)
        assert b.values.dtype == bp.int64
        np.testing.assert_array_equal(b.values.numpy(), t.values.numpy())
        np.testing.assert_array_equal(b.indices.numpy(), t.indices.numpy())
        np.testing.assert_array_equal(bp.tensor(a).argsort(dim).numpy(), torch.tensor(a).sort(dim=dim, stable=True).indices.numpy())


def test_topk_ties_nan_and_values_match_torch(rng):
    torch = _torch()
    a = np.array([1.0, 3.0, 3.0, 2.0, np.nan, 3.0])
    for k in range(0, 7):
        for largest in [True, False]:
            b = bp.topk(bp.tensor(a), k, largest=largest)
            t = torch.topk(torch.tensor(a), k, largest=largest)
            np.testing.assert_array_equal(b.values.numpy(), t.values.numpy())
            # Indices may differ between ties, but must point at the returned values.
            np.testing.assert_array_equal(a[b.indices.numpy()], b.values.numpy())
    m = rng.normal(size=(6, 7))
    for dim in [0, 1, -1]:
        b = bp.tensor(m).topk(3, dim=dim, largest=False, sorted=False)
        t = torch.tensor(m).topk(3, dim=dim, largest=False)
        np.testing.assert_array_equal(b.values.numpy(), t.values.numpy())
        np.testing.assert_array_equal(b.indices.numpy(), t.indices.numpy())


def test_sort_topk_empty_and_errors():
    e = bp.sort(bp.zeros(0))
    assert e.values.shape == (0,) and e.indices.dtype == bp.int64
    t = bp.topk(bp.zeros(2, 0), 0)
    assert t.values.shape == (2, 0)
    with pytest.raises(IndexError, match="topk: k \\(4\\) is out of range"):
        bp.topk(bp.zeros(3), 4)
    with pytest.raises(IndexError, match="topk: k must not be negative"):
        bp.topk(bp.zeros(3), -1)
    with pytest.raises(IndexError):
        bp.sort(bp.zeros(3), dim=1)


def test_sort_gradient_with_ties_goes_to_each_position_once():
    x = bp.tensor([2.0, 1.0, 2.0], requires_grad=True)
    v = x.sort().values
    v.backward(bp.tensor([10.0, 20.0, 30.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 10.0, 30.0])


def test_large_sort_matches_numpy(rng):
    a = rng.normal(size=(40, 2000))
    b = bp.sort(bp.tensor(a, dtype=bp.float64), dim=1)
    np.testing.assert_array_equal(b.values.numpy(), np.sort(a, axis=1))
    np.testing.assert_array_equal(b.indices.numpy(), np.argsort(a, axis=1, kind="stable"))


# ---- reordering, diagonals -----------------------------------------------------------------------


def test_shape_ops_match_torch_on_int64(rng):
    torch = _torch()
    a = rng.integers(0, 100, size=(3, 4))
    b, t = bp.tensor(a), torch.tensor(a)
    pairs = [
        (b.flip(0, 1), t.flip(0, 1)),
        (bp.roll(b, (1, -5), (0, 1)), torch.roll(t, (1, -5), (0, 1))),
        (bp.roll(b, -7), torch.roll(t, -7)),
        (b.repeat(2, 1, 2), t.repeat(2, 1, 2)),
        (bp.tile(b, (2,)), torch.tile(t, (2,))),
        (b.triu(1), t.triu(1)),
        (bp.tril(b, -1), torch.tril(t, -1)),
        (bp.diag(b, 1), torch.diag(t, 1)),
        (bp.diag(bp.tensor([1, 2])), torch.diag(torch.tensor([1, 2]))),
        (b.trace(), t.trace()),
        (bp.fliplr(b), torch.fliplr(t)),
    ]
    for ours, theirs in pairs:
        assert ours.dtype == bp.int64
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_flip_of_non_contiguous_and_empty():
    x = bp.arange(0, 6).reshape(2, 3).t()
    np.testing.assert_array_equal(x.flip(0).numpy(), np.arange(6).reshape(2, 3).T[::-1])
    assert bp.flip(bp.zeros(0, 2), (0, 1)).shape == (0, 2)
    with pytest.raises(ValueError, match="flip: dim appears multiple times"):
        bp.flip(bp.zeros(2, 2), (0, -2))


def test_repeat_always_copies_and_checks_counts():
    x = bp.tensor([1.0, 2.0])
    y = x.repeat(1)
    y[0] = 9.0
    assert x[0].item() == 1.0
    with pytest.raises(ValueError, match="repeat: the number of repeats"):
        bp.zeros(2, 3).repeat(2)
    with pytest.raises(ValueError, match="roll: shifts and dims"):
        bp.roll(bp.zeros(2, 3), (1, 2), 0)


def test_diag_and_triangle_errors():
    with pytest.raises(ValueError, match="diag: expected a 1-D or 2-D"):
        bp.diag(bp.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="trace: expected a 2-D"):
        bp.trace(bp.zeros(3))
    with pytest.raises(ValueError, match="triu: expected a tensor with at least 2 dims"):
        bp.triu(bp.zeros(3))


def test_diag_double_backward():
    _needs_create_graph()
    x = bp.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=bp.float64, requires_grad=True)
    (g,) = bp.autograd.grad((bp.diag(x) ** 3).sum(), x, create_graph=True)
    (h,) = bp.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [[6.0, 0.0], [0.0, 24.0]])


# ---- einsum --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "eq,shapes",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("ij->ji", [(2, 3)]),
        ("ii->i", [(3, 3)]),
        ("ii->", [(3, 3)]),
        ("ij->", [(2, 3)]),
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("bi,bi->b", [(3, 4), (3, 4)]),
        ("i,j->ij", [(3,), (2,)]),
        ("i,i", [(3,), (3,)]),
        ("ba,ca", [(2, 3), (4, 3)]),
        ("...ij,jk", [(2, 2, 3), (3, 2)]),
        ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
        ("iij->j", [(2, 2, 3)]),
        ("ij,ij,ij->i", [(2, 3), (2, 3), (2, 3)]),
        ("Ab,bC->AC", [(2, 3), (3, 2)]),
        ("i,i->i", [(1,), (4,)]),
    ],
)
def test_einsum_matches_torch(eq, shapes, rng):
    torch = _torch()
    arrays = [rng.normal(size=s) for s in shapes]
    b = bp.einsum(eq, *[bp.tensor(a, dtype=bp.float64) for a in arrays])
    t = torch.einsum(eq, *[torch.tensor(a) for a in arrays])
    assert tuple(b.shape) == tuple(t.shape)
    np.testing.assert_allclose(b.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "eq,shapes,match",
    [
        ("ij,jk->ik", [(2, 3)], "2 operand subscripts but 1 tensors"),
        ("ij->ik", [(2, 3)], "output subscript 'k' does not appear"),
        ("ij->ii", [(2, 3)], "output subscript 'i' appears more than once"),
        ("ijk->i", [(2, 3)], "operand 0 has 2 dims"),
        ("i1->i", [(2, 3)], "invalid subscript character '1'"),
        ("ij,jk->ik", [(2, 3), (4, 5)], "subscript 'j' has size 4"),
        ("ii->i", [(2, 3)], "subscript 'i' is repeated in operand 0 for dims of different sizes"),
        ("i..->i", [(2, 3)], "'.' may only appear once, as '...'"),
    ],
)
def test_einsum_errors(eq, shapes, match):
    with pytest.raises(ValueError, match=match):
        bp.einsum(eq, *[bp.zeros(*s) for s in shapes])


def test_einsum_accepts_a_list_and_needs_an_operand():
    a = bp.ones(2, 2)
    np.testing.assert_array_equal(bp.einsum("ij,jk", [a, a]).numpy(), np.full((2, 2), 2.0))
    with pytest.raises(ValueError, match="einsum: at least one operand"):
        bp.einsum("ij")


# ---- norms ---------------------------------------------------------------------------------------


def test_norms_match_torch(rng):
    torch = _torch()
    a = rng.normal(size=(3, 4))
    b, t = bp.tensor(a, dtype=bp.float64), torch.tensor(a)
    cases = [
        (bp.linalg.vector_norm(b, 0), torch.linalg.vector_norm(t, 0)),
        (bp.linalg.vector_norm(b, -math.inf, dim=0), torch.linalg.vector_norm(t, -math.inf, dim=0)),
        (bp.linalg.norm(b, ord=math.inf), torch.linalg.norm(t, ord=math.inf)),
        (bp.linalg.norm(b, ord=-1), torch.linalg.norm(t, ord=-1)),
        (bp.linalg.matrix_norm(b, keepdim=True), torch.linalg.matrix_norm(t, keepdim=True)),
        (bp.norm(b, p="fro", dim=1), torch.norm(t, p="fro", dim=1)),
        (b.norm(p=0.5), t.norm(p=0.5)),
        (bp.dist(b, b * 0.5, p=math.inf), torch.dist(t, t * 0.5, p=math.inf)),
    ]
    for ours, theirs in cases:
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


def test_norm_gradient_at_zero_is_zero():
    torch = _torch()
    for ord in [2.0, 3.0, 1.5]:
        x = bp.zeros(3, dtype=bp.float64, requires_grad=True)
        tx = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        bp.linalg.vector_norm(x, ord).backward()
        torch.linalg.vector_norm(tx, ord).backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
        assert not np.isnan(x.grad.numpy()).any()


def test_norm_second_derivative():
    _needs_create_graph()
    x = bp.tensor([3.0, 4.0], dtype=bp.float64, requires_grad=True)
    (g,) = bp.autograd.grad(bp.linalg.norm(x), x, create_graph=True)
    (h,) = bp.autograd.grad(g[0], x)
    # d/dx (x0 / |x|) = (|x|^2 - x0 x) / |x|^3
    np.testing.assert_allclose(h.numpy(), [(25 - 9) / 125, -12 / 125])


def test_norm_errors():
    with pytest.raises(TypeError, match="linalg.vector_norm: expected a floating point tensor"):
        bp.linalg.vector_norm(bp.tensor([1, 2]))
    with pytest.raises(TypeError, match="norm: expected a floating point"):
        bp.tensor([1, 2]).norm()
    with pytest.raises(ValueError, match="ord='nuc' needs singular values"):
        bp.linalg.norm(bp.zeros(2, 2), ord="nuc")
    with pytest.raises(ValueError, match="ord 2.* is not supported"):
        bp.linalg.matrix_norm(bp.zeros(2, 2), ord=2)
    with pytest.raises(ValueError, match="without dim, ord needs a 1-D or 2-D input"):
        bp.linalg.norm(bp.zeros(2, 2, 2), ord=1)
    with pytest.raises(ValueError, match="outer: expected two 1-D tensors"):
        bp.outer(bp.zeros(2, 2), bp.zeros(2))
