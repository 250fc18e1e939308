"""The misuse sweep's cases: calls a careless or hostile user can make, each with the one outcome
that is acceptable (a given Python exception whose message helps, or the right answer).

test_misuse_sweep.py runs them in child processes, so a case that crashes the interpreter fails
alone. Every test in test_errors.py is swept too (see errors_cases), so that a crash among those
cannot take the whole suite down with it.

A case is a function registered with @case. With `raises`, it must raise an instance of that type
(or one of a tuple) whose message contains every word given (case-insensitive; a tuple of words
means any one of them). Without `raises`, it must return normally and checks its own result.
"""

import inspect
import itertools
import os
import tempfile
import threading

import numpy as np

import backprop as bp
import backprop.nn.functional as F

CASES = {}


class Case:
    def __init__(self, name, fn, raises=None, words=(), either=False):
        self.name = name
        self.fn = fn
        self.raises = raises
        self.words = words
        # Where a clear error and the right answer are both acceptable, `either` lets the function
        # return normally too; it then checks the answer itself.
        self.either = either

    def verdict(self):
        """Runs the case: (True, "") when the outcome is acceptable, else (False, why)."""
        try:
            self.fn()
        except BaseException as e:  # noqa: BLE001 - every outcome is judged below
            if self.raises is None:
                return False, f"expected no exception, got {_describe(e)}"
            if not isinstance(e, self.raises):
                return False, f"expected {_names(self.raises)}, got {_describe(e)}"
            missing = [w for w in self.words if not _mentions(str(e), w)]
            if missing:
                return False, f"{_describe(e)}: the message does not mention {missing}"
            return True, ""
        if self.raises is not None and not self.either:
            return False, f"expected {_names(self.raises)} mentioning {list(self.words)}, but it returned normally"
        return True, ""


def _names(types):
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ for t in types)


def _describe(e):
    return f"{type(e).__name__}: {e}"


def _mentions(message, word):
    alternatives = word if isinstance(word, tuple) else (word,)
    return any(w.lower() in message.lower() for w in alternatives)


def case(name, raises=None, *words, either=False):
    def register(fn):
        if name in CASES:
            raise KeyError(f"duplicate sweep case {name}")
        CASES[name] = Case(name, fn, raises, words, either)
        return fn

    return register


def register(name, fn, raises=None, *words, either=False):
    case(name, raises, *words, either=either)(fn)


INPLACE_ERROR = "modified by an inplace operation"

# ---- optimizer state that no longer fits its parameter ------------------------------------------

_OPTIMIZERS = {
    "Adam": lambda ps: bp.optim.Adam(ps),
    "AdamW": lambda ps: bp.optim.AdamW(ps),
    "SGD": lambda ps: bp.optim.SGD(ps, lr=0.1, momentum=0.9),
    "RMSprop": lambda ps: bp.optim.RMSprop(ps),
    "RMSprop_centered_momentum": lambda ps: bp.optim.RMSprop(ps, momentum=0.9, centered=True),
    "Adam_amsgrad": lambda ps: bp.optim.Adam(ps, amsgrad=True),
    "NAdam": lambda ps: bp.optim.NAdam(ps),
    "RAdam": lambda ps: bp.optim.RAdam(ps),
    "Adamax": lambda ps: bp.optim.Adamax(ps),
    "Adagrad": lambda ps: bp.optim.Adagrad(ps),
}

_NEW_DATA = {
    "bigger": (lambda p: bp.randn(100000), "shape"),
    "smaller": (lambda p: bp.randn(3), "shape"),
    "reshaped": (lambda p: bp.randn(2, 5), "shape"),
    "double": (lambda p: p.data.double(), "dtype"),
}


def _step_after_new_data(make, new_data):
    def run():
        p = bp.nn.Parameter(bp.randn(10))
        opt = make([p])
        p.sum().backward()
        opt.step()
        p.data = new_data(p)
        p.grad = None
        (p * p).sum().backward()
        opt.step()

    return run


for _opt, _make in _OPTIMIZERS.items():
    for _change, (_new, _word) in _NEW_DATA.items():
        register(f"optim_{_opt}_{_change}_data", _step_after_new_data(_make, _new), RuntimeError,
                 _opt.split("_")[0], _word)


def _plain_sgd_after_new_data(new_data):
    def run():
        # Plain SGD keeps no state, so new data is simply stepped (as in PyTorch).
        p = bp.nn.Parameter(bp.randn(10))
        opt = bp.optim.SGD([p], lr=0.1)
        p.sum().backward()
        opt.step()
        p.data = new_data(p)
        p.grad = None
        before = p.detach().numpy().copy()
        (p * p).sum().backward()
        opt.step()
        np.testing.assert_allclose(p.detach().numpy(), before - 0.1 * 2 * before, rtol=1e-6, atol=1e-6)

    return run


for _change, (_new, _word) in _NEW_DATA.items():
    register(f"optim_plain_SGD_{_change}_data_steps", _plain_sgd_after_new_data(_new))


@case("optim_Adam_load_state_of_another_shape", (RuntimeError, ValueError), ("shape", "size"))
def _():
    big = bp.nn.Parameter(bp.randn(1000))
    opt = bp.optim.Adam([big])
    big.sum().backward()
    opt.step()
    small = bp.nn.Parameter(bp.randn(10))
    opt2 = bp.optim.Adam([small])
    opt2.load_state_dict(opt.state_dict())
    small.sum().backward()
    opt2.step()


@case("optim_Adam_load_state_of_another_dtype")
def _():
    # PyTorch casts loaded state to the parameter's dtype; refusing with a clear error is also
    # acceptable, reading float64 state as float32 (or the reverse) is not.
    src = bp.nn.Parameter(bp.randn(10, dtype=bp.float64))
    opt = bp.optim.Adam([src])
    src.sum().backward()
    opt.step()
    p = bp.nn.Parameter(bp.randn(10))
    opt2 = bp.optim.Adam([p])
    try:
        opt2.load_state_dict(opt.state_dict())
        p.sum().backward()
        opt2.step()
    except (RuntimeError, ValueError, TypeError) as e:
        assert "dtype" in str(e).lower() or "float" in str(e).lower(), str(e)
        return
    state = opt2.state[p]
    assert state["exp_avg"].dtype == bp.float32 and state["exp_avg_sq"].dtype == bp.float32
    np.testing.assert_allclose(state["exp_avg"].numpy(), opt.state[src]["exp_avg"].numpy() * 0.9 + 0.1,
                               rtol=1e-5)


# ---- tensors a backward reads, changed in place after the forward -------------------------------


def _loss_then_modify(forward, modify):
    def run():
        x = bp.randn(4, 5, requires_grad=True)
        t = bp.tensor([0, 1, 2, 3])
        w = bp.rand(5) + 0.5
        loss = forward(x, t, w)
        modify(t, w)
        loss.backward()

    return run


_LOSSES = {
    "cross_entropy": lambda x, t, w: F.cross_entropy(x, t),
    "cross_entropy_weight": lambda x, t, w: F.cross_entropy(x, t, weight=w),
    "cross_entropy_sum": lambda x, t, w: F.cross_entropy(x, t, reduction="sum"),
    "cross_entropy_none": lambda x, t, w: F.cross_entropy(x, t, reduction="none").sum(),
    "cross_entropy_smoothing": lambda x, t, w: F.cross_entropy(x, t, weight=w, label_smoothing=0.1),
    "cross_entropy_ignore": lambda x, t, w: F.cross_entropy(x, t, ignore_index=1),
    "nll_loss": lambda x, t, w: F.nll_loss(F.log_softmax(x, dim=1), t),
    "nll_loss_weight": lambda x, t, w: F.nll_loss(F.log_softmax(x, dim=1), t, weight=w),
}

_TARGET_CHANGES = {
    "target_out_of_range": lambda t, w: t.__setitem__(0, 10**9),
    "target_negative": lambda t, w: t.__setitem__(1, -(10**9)),
    "target_in_range": lambda t, w: t.__setitem__(0, 1),
    "target_fill": lambda t, w: t.fill_(4),
}

for _loss, _fwd in _LOSSES.items():
    for _change, _mod in _TARGET_CHANGES.items():
        register(f"{_loss}_{_change}_before_backward", _loss_then_modify(_fwd, _mod), RuntimeError, INPLACE_ERROR)
    if "weight" in _loss or "smoothing" in _loss:
        register(f"{_loss}_class_weight_scaled_before_backward",
                 _loss_then_modify(_fwd, lambda t, w: w.mul_(10)), RuntimeError, INPLACE_ERROR)


@case("cross_entropy_probability_target_scaled_before_backward", RuntimeError, INPLACE_ERROR)
def _():
    x = bp.randn(3, 4, requires_grad=True)
    p = bp.softmax(bp.randn(3, 4), dim=1)
    loss = F.cross_entropy(x, p)
    p.mul_(2)
    loss.backward()


def _changed_after_forward(forward, make_aux, change, x_shape=(4, 3)):
    """Forward, change an auxiliary input (target, weight, index, mask) in place, then backward.

    PyTorch raises its in-place error; a backward that uses what the forward saw (a copy taken at
    forward time) is right too. A gradient from the changed values, or a crash, is not.
    """

    def run():
        x = bp.randn(*x_shape, requires_grad=True)
        aux = make_aux()
        out = forward(x, aux).sum()
        ref_x = x.detach().clone().requires_grad_()
        forward(ref_x, {k: v.clone() for k, v in aux.items()}).sum().backward()
        change(aux)
        out.backward()
        np.testing.assert_allclose(x.grad.numpy(), ref_x.grad.numpy(), rtol=1e-6, atol=1e-6,
                                   err_msg="the gradient follows the values changed after the forward")

    return run


def _bce(x, a):
    return F.binary_cross_entropy_with_logits(x, a["target"], weight=a["weight"], pos_weight=a["pos_weight"])


def _bce_aux():
    return {"target": bp.rand(3, 4), "weight": bp.rand(4), "pos_weight": bp.rand(4)}


for _which in ("target", "weight", "pos_weight"):
    register(f"bce_with_logits_{_which}_scaled_before_backward",
             _changed_after_forward(_bce, _bce_aux, lambda a, w=_which: a[w].mul_(2), (3, 4)),
             RuntimeError, INPLACE_ERROR, either=True)

register("mse_loss_target_scaled_before_backward",
         _changed_after_forward(lambda x, a: F.mse_loss(x, a["y"]), lambda: {"y": bp.randn(3)},
                                lambda a: a["y"].mul_(2), (3,)),
         RuntimeError, INPLACE_ERROR, either=True)

_INDEXED = {
    "getitem_int_index": (lambda x, a: x[a["i"]], lambda: {"i": bp.tensor([0, 2])}),
    "index_select": (lambda x, a: bp.index_select(x, 0, a["i"]), lambda: {"i": bp.tensor([0, 2])}),
    "gather": (lambda x, a: bp.gather(x, 0, a["i"]), lambda: {"i": bp.tensor([[0, 1, 2], [2, 1, 0]])}),
    "index_put_indices": (lambda x, a: bp.index_put(x * 2, [a["i"]], bp.ones(3)), lambda: {"i": bp.tensor([0, 2])}),
}

for _name, (_fwd, _aux) in _INDEXED.items():
    register(f"{_name}_index_out_of_range_before_backward",
             _changed_after_forward(_fwd, _aux, lambda a: a["i"].fill_(10**9)), RuntimeError, INPLACE_ERROR,
             either=True)
    register(f"{_name}_index_in_range_before_backward",
             _changed_after_forward(_fwd, _aux, lambda a: a["i"].fill_(1)), RuntimeError, INPLACE_ERROR,
             either=True)

register("getitem_bool_mask_flipped_before_backward",
         _changed_after_forward(lambda x, a: x[a["m"]], lambda: {"m": bp.tensor([True, False, True, False])},
                                lambda a: a["m"].fill_(True)),
         RuntimeError, INPLACE_ERROR, either=True)
register("where_condition_flipped_before_backward",
         _changed_after_forward(lambda x, a: bp.where(a["c"], x, x * 2), lambda: {"c": bp.tensor([True, False, True])},
                                lambda a: a["c"].fill_(False), (3,)),
         RuntimeError, INPLACE_ERROR, either=True)


# ---- several threads running backward into shared leaves ----------------------------------------


def _in_threads(n, fn):
    errors = []
    barrier = threading.Barrier(n)

    def body():
        try:
            barrier.wait()  # start together, so the threads really overlap
            fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the calling thread
            errors.append(e)

    threads = [threading.Thread(target=body) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


# A lost update needs two accumulations to overlap, which one round may not show: several rounds.
ROUNDS = 10


@case("threads_backward_into_shared_leaf_loses_nothing")
def _():
    for r in range(ROUNDS):
        W = bp.zeros(10, requires_grad=True)

        def run():
            for _ in range(500):
                (W * 1.0).sum().backward()

        _in_threads(2, run)
        got = W.grad.numpy()
        assert np.array_equal(got, np.full(10, 1000.0, dtype=np.float32)), f"round {r}: W.grad = {got}"


@case("threads_backward_through_shared_retained_intermediate")
def _():
    for r in range(ROUNDS):
        W = bp.ones(10, requires_grad=True)
        h = W * 2
        h.retain_grad()

        def run():
            for _ in range(500):
                (h * 1.0).sum().backward(retain_graph=True)

        _in_threads(2, run)
        assert np.array_equal(h.grad.numpy(), np.full(10, 1000.0, dtype=np.float32)), f"round {r}: {h.grad}"
        assert np.array_equal(W.grad.numpy(), np.full(10, 2000.0, dtype=np.float32)), f"round {r}: {W.grad}"


@case("threads_hogwild_linear_gradients_add_up")
def _():
    lin = bp.nn.Linear(8, 3).double()
    x = bp.randn(16, 8, dtype=bp.float64)
    y = bp.randn(16, 3, dtype=bp.float64)
    F.mse_loss(lin(x), y).backward()
    once = [p.grad.numpy().copy() for p in lin.parameters()]
    for r in range(ROUNDS):
        lin.zero_grad()

        def run():
            for _ in range(100):
                F.mse_loss(lin(x), y).backward()

        _in_threads(4, run)
        for p, g in zip(lin.parameters(), once):
            np.testing.assert_allclose(p.grad.numpy(), 400 * g, rtol=1e-10, atol=1e-12, err_msg=f"round {r}")


# ---- NumPy arrays the tensor must not write, or cannot read as they are ------------------------

_WRITES = {
    "add_": lambda t: t.add_(1),
    "mul_": lambda t: t.mul_(2),
    "sub_": lambda t: t.sub_(1),
    "div_": lambda t: t.div_(2),
    "fill_": lambda t: t.fill_(7),
    "zero_": lambda t: t.zero_(),
    "clamp_": lambda t: t.clamp_(0, 0.5),
    "copy_": lambda t: t.copy_(bp.zeros(t.shape, dtype=t.dtype)),
    "setitem": lambda t: t.__setitem__(0, 5.0),
    "iadd": lambda t: t.__iadd__(1),
    "view_add_": lambda t: t.view(-1)[:1].add_(1) if t.is_contiguous() else t[0].add_(1),
}


def _memmap_array():
    fd, path = tempfile.mkstemp(suffix=".bin")
    os.close(fd)
    np.ones(6, dtype=np.float32).tofile(path)
    arr = np.memmap(path, dtype=np.float32, mode="r", shape=(6,))
    os.unlink(path)  # the mapping stays valid on POSIX
    return arr


_READ_ONLY = {
    "broadcast_to": lambda: np.broadcast_to(np.ones(3), (2, 3)),
    "memmap_r": _memmap_array,
    "frombuffer_bytes": lambda: np.frombuffer(b"\x00\x00\x80\x3f" * 4, dtype=np.float32),
    "readonly_flag": lambda: _frozen(np.ones((2, 3))),
}


def _frozen(a):
    a.flags.writeable = False
    return a


def _read_only_write(make, write):
    def run():
        arr = make()
        before = np.array(arr, copy=True)
        t = bp.from_numpy(arr)
        try:
            write(t)
        finally:
            np.testing.assert_array_equal(arr, before)

    return run


def _read_only_reads(make):
    def run():
        arr = make()
        t = bp.from_numpy(arr)
        np.testing.assert_allclose((t * 2 + 1).numpy(), arr * 2 + 1)
        np.testing.assert_allclose(t.sum().item(), arr.sum(), rtol=1e-6)
        np.testing.assert_allclose(t.clone().add_(1).numpy(), arr + 1)

    return run


def _read_only_numpy_round_trip(make):
    def run():
        # The array handed back must not be a writable window on the read-only memory.
        arr = make()
        before = np.array(arr, copy=True)
        out = bp.from_numpy(arr).numpy()
        try:
            out[...] = 5
        except ValueError as e:
            assert "read-only" in str(e)
        np.testing.assert_array_equal(arr, before)

    return run


for _src, _make in _READ_ONLY.items():
    for _w, _write in _WRITES.items():
        register(f"from_numpy_{_src}_{_w}", _read_only_write(_make, _write), RuntimeError, "read-only")
    register(f"from_numpy_{_src}_reads_work", _read_only_reads(_make))
    register(f"from_numpy_{_src}_numpy_round_trip", _read_only_numpy_round_trip(_make))


for _dt in (">f4", ">f8", ">i8"):
    register(f"from_numpy_big_endian_{_dt[1:]}", lambda dt=_dt: bp.from_numpy(np.ones(3, dtype=dt)),
             ValueError, "byte order")


def _tensor_from_big_endian(dt):
    def run():
        # PyTorch converts on copy; a clear error is acceptable too, garbage is not.
        try:
            t = bp.tensor(np.array([1, 2, 3], dtype=dt))
        except ValueError as e:
            assert "byte order" in str(e), str(e)
            return
        np.testing.assert_array_equal(t.numpy(), [1, 2, 3])

    return run


for _dt in (">f4", ">f8", ">i8"):
    register(f"tensor_of_big_endian_{_dt[1:]}", _tensor_from_big_endian(_dt))

register("tensor_uint64_max", lambda: bp.tensor(np.array([2**64 - 1], np.uint64)), OverflowError)
register("tensor_uint64_2_pow_63", lambda: bp.tensor(np.array([5, 2**63], np.uint64)), OverflowError)


@case("tensor_uint64_in_range")
def _():
    t = bp.tensor(np.array([0, 5, 2**63 - 1], np.uint64))
    assert t.dtype == bp.int64 and t.tolist() == [0, 5, 2**63 - 1]


register("tensor_python_int_beyond_int64", lambda: bp.tensor([1, 2**64 - 1]), (OverflowError, ValueError, RuntimeError),
         "overflow")

# ---- exact integers -------------------------------------------------------------------------------

_EXACT = [2**53 + 1, 2**63 - 1, -(2**63), -(2**53) - 1, 123456789012345678]

for _v in _EXACT:
    def _item(v=_v):
        t = bp.tensor([v])
        out = t.item()
        assert type(out) is int and out == v, f"item() gave {out!r} for {v}"
        assert bp.tensor(v).item() == v and int(bp.tensor(v)) == v
        assert t.tolist() == [v] and type(t.tolist()[0]) is int, t.tolist()

    register(f"int64_item_exact_{_v}", _item)

# ---- integer and bool arithmetic PyTorch refuses --------------------------------------------------

NEG_POW = "Integers to negative integer powers are not allowed"
register("int_pow_negative", lambda: bp.tensor([2, 3]) ** -1, RuntimeError, NEG_POW)
register("int_pow_fn_negative", lambda: bp.pow(bp.tensor([2, 3]), -2), RuntimeError, NEG_POW)
register("int_pow_method_negative", lambda: bp.tensor([[2, 3]]).pow(-1), RuntimeError, NEG_POW)


@case("int_pow_non_negative_works")
def _():
    assert (bp.tensor([2, 3]) ** 0).tolist() == [1, 1]
    assert (bp.tensor([2, -3]) ** 3).tolist() == [8, -27]


CONVERT = ("overflow", "cannot be converted")
register("full_nan_int64", lambda: bp.full((2,), float("nan"), dtype=bp.int64), RuntimeError, CONVERT)
register("full_inf_int64", lambda: bp.full((2,), float("inf"), dtype=bp.int64), RuntimeError, CONVERT)
register("full_1e19_int64", lambda: bp.full((2,), 1e19, dtype=bp.int64), RuntimeError, CONVERT)
register("fill_1e300_int64", lambda: bp.zeros(2, dtype=bp.int64).fill_(1e300), RuntimeError, CONVERT)
register("fill_nan_int64", lambda: bp.zeros(2, dtype=bp.int64).fill_(float("nan")), RuntimeError, CONVERT)
register("fill_minus_inf_int64", lambda: bp.zeros(2, dtype=bp.int64).fill_(-float("inf")), RuntimeError, CONVERT)


@case("full_and_fill_int64_in_range_work")
def _():
    assert bp.full((2,), 7.0, dtype=bp.int64).tolist() == [7, 7]
    assert bp.zeros(2, dtype=bp.int64).fill_(-3).tolist() == [-3, -3]


XOR = ("logical_xor", "^")
NOT = ("logical_not", "~")
register("bool_sub_bool", lambda: bp.tensor([True]) - bp.tensor([False]), RuntimeError, "bool", XOR)
register("bool_sub_fn", lambda: bp.sub(bp.tensor([True, False]), bp.tensor([False, False])), RuntimeError, XOR)
register("bool_sub_method", lambda: bp.tensor([True]).sub(bp.tensor([True])), RuntimeError, XOR)
register("bool_sub_", lambda: bp.tensor([True]).sub_(bp.tensor([True])), RuntimeError, XOR)
register("bool_neg", lambda: -bp.tensor([True]), RuntimeError, "bool", NOT)
register("bool_neg_fn", lambda: bp.neg(bp.tensor([True, False])), RuntimeError, NOT)

# ---- sizes whose strides or element count overflow -------------------------------------------------

_HUGE = (0, 2**62, 2**62)
register("zeros_stride_overflow", lambda: bp.zeros(*_HUGE), RuntimeError, "overflow")
register("zeros_stride_overflow_tuple", lambda: bp.zeros(_HUGE), RuntimeError, "overflow")
register("ones_stride_overflow", lambda: bp.ones(*_HUGE), RuntimeError, "overflow")
register("empty_stride_overflow", lambda: bp.empty(*_HUGE), RuntimeError, "overflow")
register("full_stride_overflow", lambda: bp.full(_HUGE, 1.0), RuntimeError, "overflow")
register("randn_stride_overflow", lambda: bp.randn(*_HUGE), RuntimeError, "overflow")
register("rand_stride_overflow", lambda: bp.rand(*_HUGE), RuntimeError, "overflow")
register("randint_stride_overflow", lambda: bp.randint(0, 5, _HUGE), RuntimeError, "overflow")


def _empty_with_huge_shape(make):
    def run():
        # PyTorch accepts these views of an empty tensor; an overflow error is acceptable too.
        out = make()
        assert tuple(out.shape) == _HUGE and out.numel() == 0
        out.sum()

    return run


register("reshape_empty_to_huge", _empty_with_huge_shape(lambda: bp.zeros(0).reshape(*_HUGE)), RuntimeError,
         "overflow", either=True)
register("expand_empty_to_huge", _empty_with_huge_shape(lambda: bp.zeros(0, 1, 1).expand(*_HUGE)), RuntimeError,
         "overflow", either=True)

# ---- the thread count is process-wide -----------------------------------------------------------------


def _in_new_thread(fn):
    out = []
    t = threading.Thread(target=lambda: out.append(fn()))
    t.start()
    t.join()
    return out[0]


def _os_threads():
    return len(os.listdir("/proc/self/task"))


@case("set_num_threads_reaches_other_threads")
def _():
    bp.set_num_threads(3)
    seen = _in_new_thread(bp.get_num_threads)
    assert seen == 3, f"set_num_threads(3) in the main thread; a new thread's get_num_threads() = {seen}"
    bp.set_num_threads(1)
    seen = _in_new_thread(bp.get_num_threads)
    assert seen == 1, f"set_num_threads(1) in the main thread; a new thread's get_num_threads() = {seen}"

    def kernel_threads():
        before = _os_threads()
        x = bp.randn(2_000_000)
        (x.exp() * x).sum().item()
        return _os_threads() - before

    # With one thread asked for, a large kernel in a fresh thread starts no worker threads.
    started = _in_new_thread(kernel_threads)
    assert started <= 0, f"a kernel in a new thread started {started} threads after set_num_threads(1)"


# ---- every test of test_errors.py, one case per parametrization -------------------------------------


def _fixture(name):
    if name == "rng":
        return np.random.default_rng(1234)
    if name == "tmp_path":
        import pathlib

        return pathlib.Path(tempfile.mkdtemp())
    raise LookupError(f"the sweep cannot provide the fixture {name!r}; give the test its own setup")


def _param_sets(fn):
    """[(id, kwargs)] for a test function's stacked @pytest.mark.parametrize marks."""
    axes = []
    for mark in reversed(getattr(fn, "pytestmark", [])):
        if mark.name != "parametrize":
            continue
        names, values = mark.args[0], mark.args[1]
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        ids = mark.kwargs.get("ids")
        axis = []
        for i, v in enumerate(values):
            if hasattr(v, "marks") and isinstance(getattr(v, "values", None), tuple):  # pytest.param(...)
                v = v.values
            else:
                v = tuple(v) if len(names) > 1 else (v,)
            if ids is not None:
                label = ids[i]
            elif len(names) == 1 and isinstance(v[0], (int, float, str, bool)) and v[0] is not None:
                label = str(v[0])
            else:
                label = f"{names[0]}{i}"
            axis.append((label, dict(zip(names, v))))
        axes.append(axis)
    sets = []
    for combo in itertools.product(*axes):
        label = "-".join(c[0] for c in combo)
        kwargs = {}
        for _, kw in combo:
            kwargs.update(kw)
        sets.append((label, kwargs))
    return sets


def errors_cases(module):
    """One Case per test of `module` (test_errors) and per parametrization of it."""
    out = []
    for name, fn in sorted(vars(module).items()):
        if not (name.startswith("test_") and inspect.isfunction(fn)):
            continue
        params = list(inspect.signature(fn).parameters)
        for label, kwargs in _param_sets(fn) or [("", {})]:
            def run(fn=fn, kwargs=kwargs, params=params):
                args = {p: kwargs[p] if p in kwargs else _fixture(p) for p in params}
                fn(**args)

            out.append(Case(f"errors.{name}" + (f"[{label}]" if label else ""), run))
    return out


def all_cases():
    import test_errors

    cases = dict(CASES)
    for c in errors_cases(test_errors):
        if c.name in cases:
            raise KeyError(f"duplicate sweep case {c.name}")
        cases[c.name] = c
    return cases
