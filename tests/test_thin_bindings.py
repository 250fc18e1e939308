"""The bindings only convert arguments: semantics that used to live in them (indexing, amin, std,
any/all, squeeze over several dims, the .data setter, detach_, clamp_, add_ with alpha) now come
from the C++ API, and _core never imports the package it sits under."""

import pathlib
import re

import numpy as np
import pytest

import backprop as bp
from backprop import _core

BINDINGS = pathlib.Path(__file__).resolve().parent.parent / "cpp" / "python"


def test_core_does_not_import_the_python_package():
    if not BINDINGS.is_dir():
        pytest.skip("the C++ sources are not next to the tests (installed package)")
    sources = sorted(BINDINGS.glob("*.cpp"))
    assert sources
    for path in sources:
        text = path.read_text()
        assert not re.search(r'import\(\s*"backprop', text), f"{path.name} imports the backprop package"


def test_bindings_include_public_headers_only():
    # The build drops cpp/src from _core's include path; a relative include would slip past it.
    if not BINDINGS.is_dir():
        pytest.skip("the C++ sources are not next to the tests (installed package)")
    for path in sorted(BINDINGS.glob("*.[ch]pp")):
        for line in path.read_text().splitlines():
            if line.startswith("#include"):
                assert "src/" not in line, f"{path.name} includes a private header: {line}"


def test_tensor_converter_must_be_callable():
    with pytest.raises(TypeError, match="callable"):
        _core._set_tensor_converter(42)


def test_lists_and_arrays_as_operands_and_indices_go_through_the_registered_converter():
    x = bp.arange(12, dtype=bp.float64).reshape(3, 4)
    a = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(x[[2, 0]].numpy(), a[[2, 0]])
    np.testing.assert_array_equal(x[np.array([1, 1]), 1:3].numpy(), a[np.array([1, 1]), 1:3])
    row = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(x.add(row).numpy(), a + row)
    x[0] = [9.0, 8.0, 7.0, 6.0]
    a[0] = [9.0, 8.0, 7.0, 6.0]
    np.testing.assert_array_equal(x.numpy(), a)


@pytest.mark.parametrize(
    "index",
    [
        (slice(0, 2), 1),
        (Ellipsis, -1),
        (None, slice(None, None, 2)),
        (slice(-2, None), None, slice(1, 100)),
        (True, 0),
        ([0, 2], slice(1, 3)),
        (slice(None), [3, 0, 3]),
        ([[0, 1], [2, 2]], [1, 3]),
        (0, [1, 2]),
    ],
    ids=repr,
)
def test_getitem_and_setitem_follow_numpy(index):
    a = np.arange(12.0).reshape(3, 4)
    x = bp.tensor(a)
    np.testing.assert_array_equal(x[index].numpy(), a[index])
    b = a.copy()
    b[index] = -1.0
    x[index] = -1.0
    np.testing.assert_array_equal(x.numpy(), b)


def test_index_errors_name_the_problem():
    x = bp.zeros(3, 4)
    with pytest.raises(ValueError, match="step"):
        x[::-1]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]
    with pytest.raises(IndexError, match="out of bounds"):
        x[[0, 3]]
    with pytest.raises(IndexError, match="long .* or bool"):
        x[bp.tensor([0.0])]
    with pytest.raises(IndexError, match="valid indices"):
        x["a"]


def test_squeeze_several_dims_matches_torch_rules():
    x = bp.zeros(1, 3, 1, 2)
    assert x.squeeze((0, 2)).shape == (3, 2)
    assert x.squeeze((0, 1)).shape == (3, 1, 2)  # a dim of size 3 stays
    assert bp.squeeze(x, -2).shape == (1, 3, 2)
    with pytest.raises(ValueError, match="multiple times"):
        x.squeeze((0, 0))
    with pytest.raises(IndexError):
        x.squeeze((0, 4))


def test_any_all_amin_std_values():
    a = np.array([[0.0, 2.0, -1.0], [3.0, 0.5, 4.0]])
    x = bp.tensor(a)
    assert bool(x.any()) and not bool(x.all())
    np.testing.assert_array_equal(x.all(dim=1).numpy(), (a != 0).all(axis=1))
    np.testing.assert_array_equal(bp.any(x == 0, dim=0, keepdim=True).numpy(), (a == 0).any(axis=0, keepdims=True))
    np.testing.assert_array_equal(x.amin(dim=0).numpy(), a.min(axis=0))
    np.testing.assert_allclose(x.std(dim=1).numpy(), a.std(axis=1, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(bp.std(x, unbiased=False).item(), a.std(), rtol=1e-12)


def test_inplace_methods_keep_identity_and_record_autograd():
    w = bp.tensor([1.0, -2.0, 3.0], dtype=bp.float64, requires_grad=True)
    y = w * 1.0
    assert y.add_(bp.tensor([1.0, 1.0, 1.0], dtype=bp.float64), alpha=-2.0) is y
    assert y.clamp_(min=-3.5, max=0.5) is y
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 0.0, 0.0])  # y = w - 2 = [-1, -4, 1]
    z = w * 2.0
    assert z.detach_() is z
    assert not z.requires_grad and z.grad_fn is None


def test_data_setter_swaps_storage_but_keeps_the_tensor():
    p = bp.zeros(2, 2, requires_grad=True)
    p.sum().backward()
    p.data = bp.ones(3)
    assert p.shape == (3,) and p.requires_grad and p.grad is None
    with pytest.raises(TypeError, match="requires_grad_"):
        p.data = bp.zeros(2, dtype=bp.int64)
