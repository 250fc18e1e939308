"""Misuse raises a clear, typed error; no input reachable from Python crashes the interpreter."""

import numpy as np
import pytest

import backprop as bp
import backprop.nn.functional as F

# ---- the errors the issue names, one test each ---------------------------------------------------


def test_backward_of_non_scalar_without_gradient_suggests_sum():
    x = bp.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\.sum\(\)") as e:
        (x * 2).backward()
    assert "[2, 3]" in str(e.value)


def test_backward_through_freed_graph_suggests_retain_graph():
    x = bp.ones(3, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        bp.autograd.grad(y, x)


def test_saved_tensor_modified_in_place_names_op_and_versions():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    b = a * a  # MulBackward0 saves a
    a.mul_(2)
    with pytest.raises(RuntimeError) as e:
        b.sum().backward()
    msg = str(e.value)
    assert "MulBackward0" in msg and "version 1" in msg and "expected version 0" in msg


def test_saved_tensor_modified_through_an_alias_is_detected():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    s = (x * 1).sigmoid()
    t = s * s  # saves s
    s.detach()[0] = 5.0  # detach() shares storage and the version counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        t.sum().backward()


@pytest.mark.parametrize(
    "inplace",
    [
        lambda t: t.add_(1),
        lambda t: t.mul_(2),
        lambda t: t.sub_(1),
        lambda t: t.div_(2),
        lambda t: t.zero_(),
        lambda t: t.fill_(3.0),
        lambda t: t.copy_(bp.ones(3)),
        lambda t: t.clamp_(0, 1),
        lambda t: t.__iadd__(1),
        lambda t: t.__imul__(2),
        lambda t: t.__setitem__(0, 5.0),
        lambda t: t.__setitem__(slice(None), 5.0),
    ],
)
def test_inplace_on_leaf_requiring_grad_raises(inplace):
    x = bp.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        inplace(x)
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 1.0, 1.0])
    with bp.no_grad():  # allowed under no_grad, as in PyTorch
        inplace(x)


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a**b,
        lambda a, b: bp.maximum(a, b),
        lambda a, b: bp.minimum(a, b),
        lambda a, b: bp.where(a > 0, a, b),
        lambda a, b: a < b,
        lambda a, b: a == b,
        lambda a, b: F.mse_loss(a, b),
    ],
)
def test_shapes_that_cannot_broadcast_show_both_shapes(op):
    a, b = bp.ones(2, 3), bp.ones(4)
    with pytest.raises(ValueError) as e:
        op(a, b)
    assert "[2, 3]" in str(e.value) and "[4]" in str(e.value)


@pytest.mark.parametrize(
    "sa,sb",
    [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3), (4,)), ((3,), (4, 2)), ((2, 2, 3), (2, 4, 2)), ((5, 2, 3), (2,))],
)
def test_matmul_inner_size_mismatch_shows_both_shapes(sa, sb):
    a, b = bp.ones(*sa), bp.ones(*sb)
    for f in (lambda: a @ b, lambda: bp.matmul(a, b), lambda: a.matmul(b)):
        with pytest.raises(ValueError) as e:
            f()
        msg = str(e.value)
        assert str(list(sa)) in msg and str(list(sb)) in msg


def test_matmul_batch_dims_that_cannot_broadcast():
    with pytest.raises(ValueError):
        bp.ones(2, 3, 4) @ bp.ones(3, 4, 5)


def test_linear_shape_mismatch():
    with pytest.raises(ValueError) as e:
        F.linear(bp.ones(2, 3), bp.ones(4, 5))
    assert "[2, 3]" in str(e.value) and "[4, 5]" in str(e.value)
    with pytest.raises(ValueError):
        F.linear(bp.ones(2, 3), bp.ones(4, 3), bp.ones(5))


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a * b,
        lambda a, b: a - b,
        lambda a, b: a / b,
        lambda a, b: a**b,
        lambda a, b: a @ b,
        lambda a, b: bp.maximum(a, b),
        lambda a, b: bp.where(a > 0, a, b),
        lambda a, b: F.linear(a, b),
        lambda a, b: bp.cat([a, b]),
    ],
)
def test_mixed_float32_float64_names_both_dtypes(op):
    a = bp.ones(2, 2)
    b = bp.ones(2, 2, dtype=bp.float64)
    with pytest.raises(TypeError) as e:
        op(a, b)
    assert "float32" in str(e.value) and "float64" in str(e.value)


def test_requires_grad_on_integer_tensors_raises():
    with pytest.raises(TypeError, match="int64"):
        bp.tensor([1, 2]).requires_grad_()
    with pytest.raises(TypeError, match="int64"):
        bp.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="int64"):
        bp.zeros(2, dtype=bp.int64, requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        bp.tensor([True]).requires_grad = True
    with pytest.raises(TypeError):
        bp.arange(3, requires_grad=True)


@pytest.mark.parametrize("bad", [[0, 5], [0, -2], [3, 1]])
def test_cross_entropy_labels_out_of_range(bad):
    x = bp.zeros(2, 3, requires_grad=True)
    with pytest.raises(IndexError) as e:
        F.cross_entropy(x, bp.tensor(bad))
    assert "out of bounds" in str(e.value) and "3 classes" in str(e.value)


def test_cross_entropy_other_misuse():
    x = bp.zeros(2, 3)
    with pytest.raises(ValueError):
        F.cross_entropy(x, bp.tensor([0]))  # wrong number of labels
    with pytest.raises(TypeError):
        F.cross_entropy(x, bp.tensor([True, False]))
    with pytest.raises(ValueError):
        F.cross_entropy(x, bp.tensor([0, 1]), reduction="avg")
    with pytest.raises(ValueError):
        F.cross_entropy(x, bp.tensor([0, 1]), weight=bp.ones(4))
    with pytest.raises(ValueError):
        F.cross_entropy(x, bp.tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError):
        F.cross_entropy(x, bp.zeros(2, 4))  # probability targets of the wrong shape
    with pytest.raises(TypeError):
        F.cross_entropy(bp.zeros(2, 3, dtype=bp.int64), bp.tensor([0, 1]))


def test_autograd_grad_unused_input_without_allow_unused():
    x = bp.ones(2, requires_grad=True)
    unused = bp.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        bp.autograd.grad((x * 2).sum(), [x, unused])


def test_autograd_grad_input_without_requires_grad():
    x = bp.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires_grad"):
        bp.autograd.grad((x * 2).sum(), [bp.ones(2)])


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        bp.ones(2).sum().backward()


def test_backward_gradient_of_wrong_shape():
    x = bp.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match=r"\[3\]"):
        (x * 2).backward(bp.ones(3))


def test_numpy_of_tensor_requiring_grad_says_detach():
    x = bp.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)"):
        x.numpy()
    with pytest.raises(RuntimeError, match=r"detach\(\)"):
        (x * 2).numpy()


def test_register_hook_on_tensor_without_grad():
    with pytest.raises(RuntimeError):
        bp.ones(2).register_hook(lambda g: g)


def test_retain_grad_on_tensor_without_grad():
    with pytest.raises(RuntimeError):
        bp.ones(2).retain_grad()


def test_inplace_broadcast_into_smaller_output():
    x = bp.ones(3)
    with pytest.raises(ValueError):
        x.add_(bp.ones(2, 3))


def test_inplace_float_result_into_int_tensor():
    x = bp.ones(3, dtype=bp.int64)
    with pytest.raises(TypeError):
        x += 0.5


def test_grad_assignment_checks_shape_and_dtype():
    x = bp.ones(3, requires_grad=True)
    with pytest.raises(ValueError):
        x.grad = bp.ones(2)
    with pytest.raises(TypeError):
        x.grad = bp.ones(3, dtype=bp.float64)


# ---- crash hunting: every case must raise one of the mapped Python errors ------------------------

MISUSE = [
    # factories
    ("zeros_negative", lambda: bp.zeros(-1), ValueError),
    ("zeros_negative_tuple", lambda: bp.ones((2, -3)), ValueError),
    ("zeros_overflow", lambda: bp.zeros(2**62, 4), RuntimeError),
    ("zeros_huge", lambda: bp.zeros(2**40, 2**40), RuntimeError),
    ("too_many_dims", lambda: bp.zeros(*([1] * 65)), ValueError),
    ("rand_negative", lambda: bp.rand(3, -1), ValueError),
    ("full_negative", lambda: bp.full((-2,), 1.0), ValueError),
    ("zeros_bad_type", lambda: bp.zeros("a"), TypeError),
    ("zeros_float_size", lambda: bp.zeros(2.5), TypeError),
    ("bad_dtype", lambda: bp.zeros(2, dtype="float16"), TypeError),
    ("bad_device", lambda: bp.zeros(2, device="cuda"), TypeError),
    ("arange_zero_step", lambda: bp.arange(0, 5, 0), ValueError),
    ("arange_wrong_sign", lambda: bp.arange(0, 5, -1), ValueError),
    ("arange_nan", lambda: bp.arange(0, float("nan")), ValueError),
    ("arange_inf", lambda: bp.arange(0, float("inf")), (ValueError, MemoryError)),
    ("tensor_ragged", lambda: bp.tensor([[1, 2], [3]]), (ValueError, TypeError)),
    ("tensor_string", lambda: bp.tensor("abc"), TypeError),
    ("tensor_object", lambda: bp.tensor([object()]), TypeError),
    ("set_threads_zero", lambda: bp.set_num_threads(0), ValueError),
    # views and shapes
    ("reshape_two_infer", lambda: bp.ones(6).reshape(-1, -1), ValueError),
    ("reshape_wrong", lambda: bp.ones(6).reshape(4, 2), ValueError),
    ("reshape_negative", lambda: bp.ones(6).reshape(-3, -2), ValueError),
    ("reshape_zero_infer", lambda: bp.ones(0).reshape(0, -1), ValueError),
    ("view_noncontiguous", lambda: bp.ones(2, 3).t().view(6), ValueError),
    ("expand_bad", lambda: bp.ones(3).expand(2, 4), ValueError),
    ("expand_negative", lambda: bp.ones(1).expand(-5), ValueError),
    ("expand_fewer_dims", lambda: bp.ones(2, 3).expand(3), ValueError),
    ("permute_repeat", lambda: bp.ones(2, 3).permute(0, 0), ValueError),
    ("permute_count", lambda: bp.ones(2, 3).permute(0), ValueError),
    ("permute_range", lambda: bp.ones(2, 3).permute(0, 5), IndexError),
    ("transpose_range", lambda: bp.ones(2, 3).transpose(0, 2), IndexError),
    ("squeeze_range", lambda: bp.ones(2, 3).squeeze(3), IndexError),
    ("unsqueeze_range", lambda: bp.ones(2, 3).unsqueeze(4), IndexError),
    ("unsqueeze_neg_range", lambda: bp.ones(2, 3).unsqueeze(-5), IndexError),
    ("flatten_order", lambda: bp.ones(2, 3, 4).flatten(2, 1), ValueError),
    ("cat_empty", lambda: bp.cat([]), ValueError),
    ("cat_0d", lambda: bp.cat([bp.tensor(1.0), bp.tensor(2.0)]), ValueError),
    ("cat_rank", lambda: bp.cat([bp.ones(2), bp.ones(2, 3)]), ValueError),
    ("cat_sizes", lambda: bp.cat([bp.ones(2, 3), bp.ones(2, 4)]), ValueError),
    ("cat_dim", lambda: bp.cat([bp.ones(2), bp.ones(2)], dim=3), IndexError),
    ("cat_not_tensors", lambda: bp.cat([bp.ones(2), 3]), TypeError),
    ("cat_single_tensor", lambda: bp.cat(bp.ones(2)), TypeError),
    ("stack_empty", lambda: bp.stack([]), ValueError),
    ("stack_shapes", lambda: bp.stack([bp.ones(2), bp.ones(3)]), ValueError),
    ("stack_dim", lambda: bp.stack([bp.ones(2), bp.ones(2)], dim=5), IndexError),
    ("split_0d", lambda: bp.tensor(1.0).split(1), IndexError),
    ("chunk_0d", lambda: bp.tensor(1.0).chunk(2), IndexError),
    ("unbind_0d", lambda: bp.tensor(1.0).unbind(), IndexError),
    ("narrow_0d", lambda: bp.tensor(1.0).narrow(0, 0, 1), IndexError),
    ("size_0d", lambda: bp.tensor(1.0).size(0), IndexError),
    ("stride_0d", lambda: bp.tensor(1.0).stride(0), IndexError),
    ("size_range", lambda: bp.ones(2).size(3), IndexError),
    ("narrow_range", lambda: bp.ones(3).narrow(0, 2, 5), IndexError),
    ("select_range", lambda: bp.ones(3).select(0, 3), IndexError),
    ("split_zero", lambda: bp.ones(3).split(0), ValueError),
    ("split_sections", lambda: bp.ones(3).split([1, 1]), ValueError),
    ("chunk_zero", lambda: bp.ones(3).chunk(0), ValueError),
    ("mT_1d", lambda: bp.ones(3).mT, IndexError),
    ("t_3d", lambda: bp.ones(2, 2, 2).t(), ValueError),
    # indexing
    ("index_0d", lambda: bp.tensor(1.0)[0], IndexError),
    ("index_range", lambda: bp.ones(3)[3], IndexError),
    ("index_neg_range", lambda: bp.ones(3)[-4], IndexError),
    ("index_huge", lambda: bp.ones(3)[2**62], IndexError),
    ("index_too_many", lambda: bp.ones(3)[0, 0], IndexError),
    ("index_float", lambda: bp.ones(3)[1.5], IndexError),
    ("index_str", lambda: bp.ones(3)["a"], IndexError),
    ("index_float_tensor", lambda: bp.ones(3)[bp.ones(2)], IndexError),
    ("index_float_list", lambda: bp.ones(3)[[0.5, 1.0]], IndexError),
    ("index_array_range", lambda: bp.ones(3)[[0, 3]], IndexError),
    ("index_array_neg_range", lambda: bp.ones(3)[[-4]], IndexError),
    ("index_tensor_range", lambda: bp.ones(3, 2)[bp.tensor([1, 7])], IndexError),
    ("index_mask_shape", lambda: bp.ones(3)[bp.tensor([True, False])], IndexError),
    ("index_mask_2d_shape", lambda: bp.ones(3, 4)[bp.ones(4, 3).bool()], IndexError),
    ("index_two_ellipsis", lambda: bp.ones(3)[..., ...], IndexError),
    ("index_step_negative", lambda: bp.ones(3)[::-1], ValueError),
    ("index_step_zero", lambda: bp.ones(3)[::0], ValueError),
    ("index_arrays_not_broadcast", lambda: bp.ones(3, 4)[[0, 1], [0, 1, 2]], (ValueError, IndexError)),
    ("index_empty_dim", lambda: bp.ones(0)[0], IndexError),
    ("setitem_range", lambda: bp.ones(3).__setitem__(5, 1.0), IndexError),
    ("setitem_shape", lambda: bp.ones(3).__setitem__(slice(None), bp.ones(2)), ValueError),
    ("setitem_bad_value", lambda: bp.ones(3).__setitem__(0, "a"), TypeError),
    ("index_select_range", lambda: bp.index_select(bp.ones(3), 0, bp.tensor([3])), IndexError),
    ("index_select_float_index", lambda: bp.index_select(bp.ones(3), 0, bp.ones(1)), TypeError),
    ("index_select_0d_many", lambda: bp.index_select(bp.tensor(1.0), 0, bp.tensor([0, 0, 0])), IndexError),
    ("index_select_2d_index", lambda: bp.index_select(bp.ones(3), 0, bp.tensor([[0]])), ValueError),
    ("gather_range", lambda: bp.gather(bp.ones(3), 0, bp.tensor([7])), IndexError),
    ("gather_rank", lambda: bp.gather(bp.ones(3, 2), 0, bp.tensor([0])), ValueError),
    ("gather_larger", lambda: bp.gather(bp.ones(3, 2), 1, bp.zeros(4, 1, dtype=bp.int64)), ValueError),
    ("index_put_range", lambda: bp.index_put(bp.ones(3), [bp.tensor([5])], bp.tensor(1.0)), IndexError),
    ("index_put_none", lambda: bp.index_put(bp.ones(3), [], bp.tensor(1.0)), IndexError),
    # reductions
    ("sum_dim_range", lambda: bp.ones(3).sum(1), IndexError),
    ("sum_dim_repeat", lambda: bp.ones(3, 2).sum((0, 0)), ValueError),
    ("sum_dim_float", lambda: bp.ones(3).sum(0.5), TypeError),
    ("mean_int", lambda: bp.tensor([1, 2]).mean(), TypeError),
    ("max_empty", lambda: bp.ones(0).max(), ValueError),
    ("max_dim_empty", lambda: bp.ones(0, 2).max(0), ValueError),
    ("max_dim_range", lambda: bp.ones(2).max(dim=1), IndexError),
    ("argmax_empty", lambda: bp.ones(0).argmax(), ValueError),
    ("argmax_range", lambda: bp.ones(2, 2).argmax(2), IndexError),
    ("logsumexp_range", lambda: bp.ones(2).logsumexp(1), IndexError),
    ("softmax_range", lambda: bp.ones(2).softmax(1), IndexError),
    ("log_softmax_range", lambda: F.log_softmax(bp.ones(2, 2), dim=-3), IndexError),
    # elementwise
    ("add_none", lambda: bp.ones(3) + None, TypeError),
    ("add_str", lambda: bp.ones(3) + "a", TypeError),
    ("add_object", lambda: bp.ones(3) + object(), TypeError),
    ("radd_object", lambda: object() + bp.ones(3), TypeError),
    ("lt_str", lambda: bp.ones(3) < "a", TypeError),
    ("neg_bool", lambda: -bp.tensor([True]), RuntimeError),
    ("sub_bool", lambda: bp.tensor([True]) - bp.tensor([False]), RuntimeError),
    ("invert_float", lambda: ~bp.ones(2), TypeError),
    ("where_int_condition", lambda: bp.where(bp.tensor([1, 0]), bp.ones(2), bp.zeros(2)), TypeError),
    ("clamp_nothing", lambda: bp.ones(2).clamp(), ValueError),
    ("gelu_bad_approx", lambda: F.gelu(bp.ones(2), approximate="fast"), ValueError),
    ("matmul_0d", lambda: bp.ones(3) @ bp.tensor(2.0), ValueError),
    ("matmul_int", lambda: bp.tensor([1, 2]) @ bp.tensor([1, 2]), TypeError),
    ("linear_1d_weight", lambda: F.linear(bp.ones(2, 3), bp.ones(3)), ValueError),
    ("linear_0d_input", lambda: F.linear(bp.tensor(1.0), bp.ones(2, 1)), ValueError),
    ("linear_bias_shape", lambda: F.linear(bp.ones(2, 3), bp.ones(4, 3), bp.ones(4, 1)), ValueError),
    ("mse_bad_reduction", lambda: F.mse_loss(bp.ones(2), bp.ones(2), reduction="x"), ValueError),
    ("bce_shape", lambda: F.binary_cross_entropy_with_logits(bp.ones(2), bp.ones(3)), ValueError),
    ("bce_int", lambda: F.binary_cross_entropy_with_logits(bp.tensor([1]), bp.tensor([1])), TypeError),
    ("cross_entropy_0d", lambda: F.cross_entropy(bp.tensor(1.0), bp.tensor(0)), ValueError),
    ("nll_range", lambda: F.nll_loss(bp.ones(2, 3), bp.tensor([0, 3])), IndexError),
    # conversions
    ("item_many", lambda: bp.ones(2).item(), ValueError),
    ("item_empty", lambda: bp.ones(0).item(), ValueError),
    ("bool_many", lambda: bool(bp.ones(2)), ValueError),
    ("len_0d", lambda: len(bp.tensor(1.0)), TypeError),
    ("iter_0d", lambda: iter(bp.tensor(1.0)), TypeError),
    ("index_float_tensor_index", lambda: [1, 2][bp.tensor(1.0)], TypeError),
    ("to_bad_dtype", lambda: bp.ones(2).to("int8"), TypeError),
    ("from_numpy_int32", lambda: bp.from_numpy(np.zeros(2, dtype=np.int32)), TypeError),
    ("from_numpy_negative_stride", lambda: bp.from_numpy(np.zeros(4)[::-1]), ValueError),
    ("from_numpy_not_array", lambda: bp.from_numpy([1, 2]), TypeError),
    ("from_dlpack_int", lambda: bp.from_dlpack(3), TypeError),
    ("dlpack_requires_grad", lambda: bp.ones(2, requires_grad=True).__dlpack__(), RuntimeError),
    ("int_from_float_requires_grad", lambda: bp.ones(2, requires_grad=True).long() * bp.ones(2, requires_grad=True),
     None),
]


@pytest.mark.parametrize("name,fn,exc", MISUSE, ids=[m[0] for m in MISUSE])
def test_misuse_raises_not_crashes(name, fn, exc):
    if exc is None:
        fn()  # must simply work
        return
    with pytest.raises(exc):
        fn()


_WEIRD = {
    "0d": lambda: bp.tensor(1.5),
    "empty": lambda: bp.zeros(0),
    "empty_2d": lambda: bp.zeros(2, 0, 3),
    "noncontiguous": lambda: bp.randn(3, 4).t(),
    "expanded": lambda: bp.randn(3, 1).expand(3, 4),
    "strided_slice": lambda: bp.randn(4, 6)[::2, 1::3],
    "int64": lambda: bp.tensor([[1, 2], [3, 4]]),
    "bool": lambda: bp.tensor([[True, False], [False, True]]),
    "int_0d": lambda: bp.tensor(3),
    "float64": lambda: bp.randn(2, 3, dtype=bp.float64),
    "requires_grad": lambda: bp.randn(2, 3, requires_grad=True),
    "many_dims": lambda: bp.randn(*([2] * 18)).transpose(0, 17),
}

_OPS = {
    "exp": lambda x: x.exp(), "log": lambda x: x.log(), "sqrt": bp.sqrt, "abs": bp.abs, "neg": lambda x: -x,
    "relu": bp.relu, "sigmoid": bp.sigmoid, "tanh": bp.tanh, "gelu": F.gelu, "softplus": F.softplus,
    "leaky_relu": F.leaky_relu, "clamp": lambda x: x.clamp(0, 1), "sum": lambda x: x.sum(), "sum0": lambda x: x.sum(0),
    "sum_keep": lambda x: x.sum(-1, keepdim=True), "mean": lambda x: x.mean(), "mean0": lambda x: x.mean(0),
    "max": lambda x: x.max(), "max0": lambda x: x.max(0), "min_last": lambda x: x.min(-1),
    "logsumexp": lambda x: x.logsumexp(0), "argmax": lambda x: x.argmax(), "argmax0": lambda x: x.argmax(0),
    "reshape": lambda x: x.reshape(-1), "view": lambda x: x.view(-1), "flatten": lambda x: x.flatten(),
    "T": lambda x: x.T, "transpose": lambda x: x.transpose(0, -1), "squeeze": lambda x: x.squeeze(),
    "unsqueeze": lambda x: x.unsqueeze(0), "expand": lambda x: x.expand(2, *x.shape), "cat": lambda x: bp.cat([x, x]),
    "stack": lambda x: bp.stack([x, x]), "index0": lambda x: x[0], "slice": lambda x: x[1:],
    "ellipsis": lambda x: x[..., None], "index_list": lambda x: x[[0, 0]], "mask": lambda x: x[x > 0],
    "softmax": lambda x: x.softmax(0), "log_softmax": lambda x: bp.log_softmax(x, -1), "matmul": lambda x: x @ x,
    "matmul_T": lambda x: x @ x.T,
    "cross_entropy": lambda x: F.cross_entropy(x, bp.zeros(x.shape[0] if x.ndim > 1 else (), dtype=bp.int64)),
    "mse": lambda x: F.mse_loss(x, x), "bce": lambda x: F.binary_cross_entropy_with_logits(x, x),
    "maximum": lambda x: bp.maximum(x, x), "where": lambda x: bp.where(x > 0, x, x), "pow": lambda x: x**2,
    "rpow": lambda x: 2**x, "rdiv": lambda x: 1 / x, "lt": lambda x: x < 1, "item": lambda x: x.item(),
    "tolist": lambda x: x.tolist(), "numpy": lambda x: x.detach().numpy(), "repr": repr,
    "setitem": lambda x: x.detach().__setitem__(0, 1), "clone": lambda x: x.clone(), "long": lambda x: x.long(),
    "copy_": lambda x: x.detach().copy_(x), "gather": lambda x: bp.gather(x, 0, bp.zeros(*x.shape, dtype=bp.int64)),
    "index_select": lambda x: bp.index_select(x, 0, bp.tensor([0, 0])), "nonzero": bp.nonzero,
    "split": lambda x: x.split(1), "chunk": lambda x: x.chunk(2), "unbind": lambda x: x.unbind(),
    "narrow": lambda x: x.narrow(0, 0, 1), "size0": lambda x: x.size(0), "dlpack": lambda x: bp.from_dlpack(x.detach()),
}


@pytest.mark.parametrize("kind", list(_WEIRD))
def test_unusual_inputs_through_every_op_never_crash(kind):
    """Each op either works (and then backward works too) or raises a mapped Python error."""
    failures = []
    for name, op in _OPS.items():
        x = _WEIRD[kind]()
        try:
            out = op(x)
        except (ValueError, TypeError, IndexError, RuntimeError):
            continue
        except Exception as e:  # noqa: BLE001 - anything else is an unmapped C++ error
            failures.append(f"{name}: {type(e).__name__}: {e}")
            continue
        if isinstance(out, bp.Tensor) and out.requires_grad:
            out.sum().backward()
    assert not failures


def test_replacing_data_between_forward_and_backward_raises():
    w = bp.nn.Parameter(bp.randn(3, 4))
    y = (bp.randn(2, 3) @ w).sum()
    w.data = bp.randn(5, 5)
    with pytest.raises(RuntimeError, match=r"\[5, 5\]"):
        y.backward()
    v = bp.ones(3, requires_grad=True)
    z = (v * v).sum()
    v.data = bp.zeros(4)
    with pytest.raises(RuntimeError, match="new data"):
        z.backward()
