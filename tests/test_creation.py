"""Creation functions, legacy constructors, Size and seeding, compared with PyTorch where installed."""

import os
import subprocess
import sys

import numpy as np
import pytest

import backprop as bp


def _torch():
    return pytest.importorskip("torch")


def _same(ours, theirs, rtol=1e-6, atol=1e-6):
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy().astype(float), theirs.numpy().astype(float), rtol=rtol, atol=atol)


# ---- evenly spaced values, eye ---------------------------------------------------------------------

SPACED = [
    ("linspace", (0, 1, 5), {}),
    ("linspace", (-3.5, 2, 7), {}),
    ("linspace", (2, -2, 4), {"dtype": "float64"}),
    ("linspace", (0, 10, 4), {"dtype": "int64"}),
    ("linspace", (1, 5, 1), {}),
    ("linspace", (1, 5, 0), {}),
    ("logspace", (0, 3, 4), {}),
    ("logspace", (-2, 2, 5), {"base": 2.0, "dtype": "float64"}),
    ("arange", (5,), {}),
    ("arange", (2, 9, 3), {}),
    ("arange", (0, 1, 0.25), {}),
    ("arange", (5.0,), {}),
    ("arange", (1, 4), {"dtype": "float64"}),
    ("arange", (10, 0, -3), {}),
    ("eye", (3,), {}),
    ("eye", (2, 4), {"dtype": "int64"}),
    ("eye", (4, 2), {"dtype": "float64"}),
    ("eye", (0,), {}),
]


@pytest.mark.parametrize("name,args,kwargs", SPACED, ids=[f"{n}{a}" for n, a, _ in SPACED])
def test_creation_matches_torch_values_and_dtypes(name, args, kwargs):
    torch = _torch()
    ours = getattr(bp, name)(*args, **{k: getattr(bp, v) if k == "dtype" else v for k, v in kwargs.items()})
    theirs = getattr(torch, name)(*args, **{k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()})
    _same(ours, theirs)


def test_creation_values_without_torch():
    np.testing.assert_allclose(bp.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert bp.linspace(-1, 1, 3, dtype=bp.float64).tolist() == [-1.0, 0.0, 1.0]
    assert bp.linspace(0.1, 0.7, 7, dtype=bp.float64).tolist()[-1] == 0.7  # the end is exact
    np.testing.assert_allclose(bp.logspace(0, 2, 3).numpy(), [1, 10, 100])
    assert bp.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert bp.arange(4).dtype == bp.int64 and bp.arange(4.0).dtype == bp.float32
    assert bp.arange(start=1, end=3).tolist() == [1, 2]
    assert bp.linspace(0, 1, 3, requires_grad=True).requires_grad
    assert bp.zeros(size=(2, 3)).shape == (2, 3) and bp.ones(size=bp.Size([4])).tolist() == [1.0] * 4
    with pytest.raises(TypeError, match="given twice"):
        bp.zeros(2, size=(2,))
    with pytest.raises(TypeError, match="tensor: unsupported dtype 'a'"):
        bp.tensor([1], dtype="a")


def test_creation_errors_name_the_function():
    with pytest.raises(ValueError, match="linspace: steps must be non-negative"):
        bp.linspace(0, 1, -1)
    with pytest.raises(ValueError, match="eye: n must be non-negative"):
        bp.eye(-2)
    with pytest.raises(ValueError, match="eye: m must be non-negative"):
        bp.eye(2, -1)
    with pytest.raises(ValueError, match="randperm: n must be non-negative"):
        bp.randperm(-1)
    with pytest.raises(ValueError, match="does not fit in int64"):
        bp.logspace(0, 30, 2, dtype=bp.int64)
    with pytest.raises(TypeError, match="linspace"):
        bp.linspace("a", 1, 3)


def test_randperm_is_a_permutation_and_follows_the_seed():
    p = bp.randperm(50)
    assert p.dtype == bp.int64 and sorted(p.tolist()) == list(range(50))
    bp.manual_seed(3)
    a = bp.randperm(20).tolist()
    bp.manual_seed(3)
    assert bp.randperm(20).tolist() == a and a != list(range(20))
    assert bp.randperm(5, dtype=bp.float64).dtype == bp.float64
    assert bp.randperm(0).shape == (0,)


def test_like_factories_keep_shape_and_dtype():
    x = bp.ones(2, 3, dtype=bp.float64)
    for f in (bp.zeros_like, bp.ones_like, bp.empty_like, bp.rand_like, bp.randn_like):
        y = f(x)
        assert y.shape == (2, 3) and y.dtype == bp.float64
        assert f(x, dtype=bp.float32).dtype == bp.float32
    assert bp.full_like(x, 7).tolist() == [[7.0] * 3] * 2
    r = bp.randint_like(x, 3, 6)
    assert r.dtype == bp.float64 and set(r.flatten().tolist()) <= {3.0, 4.0, 5.0}
    assert set(bp.randint_like(bp.zeros(100, dtype=bp.int64), 2).tolist()) == {0, 1}
    with pytest.raises(TypeError, match="zeros_like.*must be a Tensor"):
        bp.zeros_like([1, 2])


def test_randint_accepts_high_and_size_alone():
    r = bp.randint(10, (4,))
    assert r.shape == (4,) and all(0 <= v < 10 for v in r.tolist())


# ---- legacy constructors -----------------------------------------------------------------------------


def test_legacy_tensor_constructor():
    a = bp.Tensor([1, 2, 3])
    assert a.dtype == bp.float32 and a.tolist() == [1.0, 2.0, 3.0]
    assert bp.Tensor(np.array([[1.5, 2.5]])).dtype == bp.float32
    b = bp.Tensor(2, 3)
    assert b.shape == (2, 3) and b.dtype == bp.float32
    assert bp.Tensor(bp.Size([4, 1])).shape == (4, 1)
    assert bp.Tensor((4, 1)).tolist() == [4.0, 1.0]  # a plain tuple is data, as in PyTorch
    assert bp.Tensor().shape == (0,)
    c = bp.ones(2)
    assert bp.Tensor(c).data_ptr() == c.data_ptr()  # an alias, as nn.Parameter needs
    with pytest.raises(TypeError, match="Tensor"):
        bp.Tensor("abc")
    with pytest.raises(TypeError, match="Tensor"):
        bp.Tensor(2, "x")
    with pytest.raises(ValueError, match="negative dimension"):
        bp.Tensor(-1)


def test_typed_legacy_constructors_and_isinstance():
    assert bp.FloatTensor([1, 2]).dtype == bp.float32
    assert bp.DoubleTensor([1, 2]).dtype == bp.float64
    big = 2**40 + 1
    assert bp.LongTensor([big]).tolist() == [big]  # no detour through float32
    assert bp.LongTensor(2, 2).shape == (2, 2) and bp.LongTensor(2, 2).dtype == bp.int64
    assert bp.BoolTensor([1, 0]).tolist() == [True, False]
    x = bp.zeros(2)
    assert isinstance(x, bp.Tensor) and isinstance(x, bp.FloatTensor) and not isinstance(x, bp.LongTensor)
    assert isinstance(bp.nn.Parameter(bp.zeros(1)), bp.Tensor)
    for t in (bp.FloatTensor([1]), bp.LongTensor([1]), bp.arange(3), bp.tensor(True)):
        assert isinstance(t, bp.Tensor)
    assert x.type() == "backprop.FloatTensor" and bp.arange(2).type() == "backprop.LongTensor"
    assert x.type(bp.DoubleTensor).dtype == bp.float64
    assert x.type("torch.LongTensor").dtype == bp.int64
    assert x.type(bp.float64).dtype == bp.float64
    assert x.double().dtype == bp.float64 and x.long().dtype == bp.int64 and x.double().float().dtype == bp.float32


def test_legacy_constructors_match_torch():
    torch = _torch()
    for name in ("Tensor", "FloatTensor", "DoubleTensor", "LongTensor"):
        _same(getattr(bp, name)([[1, 2], [3, 4]]), getattr(torch, name)([[1, 2], [3, 4]]))
        assert getattr(bp, name)(3, 2).shape == tuple(getattr(torch, name)(3, 2).shape)
    assert bp.zeros(1).type()[len("backprop."):] == torch.zeros(1).type()[len("torch."):]


# ---- Size ------------------------------------------------------------------------------------------


def test_size_is_a_tuple_that_prints_like_torch():
    x = bp.zeros(2, 3, 4)
    s = x.size()
    assert isinstance(s, bp.Size) and isinstance(s, tuple) and isinstance(x.shape, bp.Size)
    assert repr(s) == "backprop.Size([2, 3, 4])" and str(bp.zeros(()).shape) == "backprop.Size([])"
    assert s == (2, 3, 4) and (2, 3, 4) == s and hash(s) == hash((2, 3, 4))
    assert x.size(1) == 3 and x.size(-1) == 4 and isinstance(x.size(0), int)
    assert s.numel() == 24 == x.numel() and bp.Size([]).numel() == 1
    assert isinstance(s[1:], bp.Size) and s[1:] == (3, 4) and s[0] == 2
    assert isinstance(s + (5,), bp.Size) and (1,) + s == (1, 2, 3, 4)
    a, b, c = x.shape
    assert (a, b, c) == (2, 3, 4)
    assert bp.zeros(s).shape == s and x.view(s[0], -1).shape == (2, 12)
    with pytest.raises(IndexError):
        x.size(3)
    with pytest.raises(TypeError, match="Size"):
        bp.Size([1.5])


def test_size_matches_torch():
    torch = _torch()
    x, t = bp.zeros(2, 3), torch.zeros(2, 3)
    assert repr(x.shape).replace("backprop", "torch") == repr(t.shape)
    assert x.shape == t.shape and x.size()[1:] == t.size()[1:] and x.shape.numel() == t.shape.numel()


# ---- seeding ------------------------------------------------------------------------------------------

_DRAW = "import backprop as bp; print(bp.initial_seed(), bp.rand(4).tolist())"


def _draw_in_fresh_process(code=_DRAW):
    env = dict(os.environ)
    here = os.path.dirname(os.path.dirname(os.path.abspath(bp.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([here] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout


def test_two_fresh_processes_draw_different_numbers():
    assert _draw_in_fresh_process() != _draw_in_fresh_process()


def test_manual_seed_in_a_fresh_process_repeats():
    code = "import backprop as bp; bp.manual_seed(7); print(bp.initial_seed(), bp.randn(4).tolist())"
    first = _draw_in_fresh_process(code)
    assert first == _draw_in_fresh_process(code) and first.startswith("7 ")


def test_manual_seed_seed_and_initial_seed():
    bp.manual_seed(123)
    assert bp.initial_seed() == 123
    a = bp.rand(5).tolist()
    bp.manual_seed(123)
    assert bp.rand(5).tolist() == a
    s = bp.seed()
    assert bp.initial_seed() == s and isinstance(s, int)
    bp.manual_seed(s)
    b = bp.rand(5).tolist()
    assert bp.seed() != s  # a fresh draw from the OS
    bp.manual_seed(s)
    assert bp.rand(5).tolist() == b
    bp.manual_seed(-1)
    assert bp.initial_seed() == 2**64 - 1  # negatives wrap, as in PyTorch
    with pytest.raises(TypeError, match="manual_seed: seed must be an int"):
        bp.manual_seed(1.5)
    with pytest.raises(ValueError, match="manual_seed"):
        bp.manual_seed(2**64)
