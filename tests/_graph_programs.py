"""Random programs over the op table, for the property tests in test_property_graphs.py.

A program is a list of steps over a pool of values that starts with the inputs; each step reads
values of the pool (the same one twice, or one that several steps read, gives the shared
subexpressions) and appends its result, or changes a value in place. `replay` runs a program with
backprop or with torch, so the same graph is differentiated by both and by finite differences.

Steps are chosen while the program is built on concrete float64 values, which lets the builder
keep every op inside its domain (log of positive numbers) and away from its kinks (relu near 0,
max with a near-tie): there, finite differences and the two libraries may rightly disagree. A step
that would leave the range of moderate values is dropped.

In-place ops run where PyTorch allows them on any graph: on a clone that no other step has read
yet (so no backward saved it), never on a leaf or a view.
"""

import numpy as np

import backprop as bp
import backprop.nn.functional as BF

# Distance from a kink below which a non-smooth op is not applied; much larger than the
# perturbation finite differences make (1e-6), so the difference quotient never crosses it.
MARGIN = 5e-3
LIMIT = 1e3


class Step:
    def __init__(self, desc, fn, args, target=None, consts=()):
        self.desc = desc
        self.fn = fn  # fn(lib, F, *pool values, *consts as tensors of lib) -> tensor
        self.args = args
        self.target = target  # pool index changed in place, or None: the result is appended
        self.consts = consts  # NumPy arrays, turned into tensors of the library replaying

    def run(self, lib, F, pool):
        consts = [_const(lib, c) for c in self.consts]
        return self.fn(lib, F, *[pool[i] for i in self.args], *consts)

    def __repr__(self):
        where = f"v{self.target} in place" if self.target is not None else "new"
        return f"{self.desc}({', '.join(f'v{i}' for i in self.args)}) -> {where}"


def _const(lib, a):
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return lib.tensor(a, dtype=lib.float64)
    return lib.tensor(a)


class Program:
    def __init__(self, arrays):
        self.arrays = arrays
        self.steps = []
        self.retain = []  # pool indices whose .grad is retained and compared
        self.weights = []  # (pool index, NumPy weights): the output is sum((v * w).sum())

    def __repr__(self):
        lines = [f"inputs: {[a.shape for a in self.arrays]}"]
        lines += [f"  {s!r}" for s in self.steps]
        lines.append(f"  retain_grad: {self.retain}; output weighs {[i for i, _ in self.weights]}")
        return "\n".join(lines)


def replay(lib, F, program, inputs):
    """Runs the program on `inputs` (tensors of lib): (scalar output, the final pool)."""
    pool = list(inputs)
    for step in program.steps:
        out = step.run(lib, F, pool)
        if step.target is None:
            pool.append(out)
            if len(pool) - 1 in program.retain and out.requires_grad:  # not under gradcheck's no_grad
                out.retain_grad()
        else:
            pool[step.target] = out
    total = None
    for i, w in program.weights:
        term = (pool[i] * _const(lib, w)).sum()
        total = term if total is None else total + term
    return total, pool


# ---- the builder -------------------------------------------------------------------------------


class _Value:
    def __init__(self, t, leaf=False):
        self.t = t  # float64 backprop tensor, no grad
        self.leaf = leaf
        self.fresh = False  # a clone nothing has read yet: in-place ops on it are legal
        self.inplaced = False


def _np(t):
    return t.numpy()


def _ok(a):
    a = np.asarray(a)
    return a.dtype.kind != "f" or (np.all(np.isfinite(a)) and (a.size == 0 or np.abs(a).max() <= LIMIT))


def _away(a, *kinks):
    return all(np.all(np.abs(np.asarray(a) - k) > MARGIN) for k in kinks)


def _gap_along(a, dim):
    """True when the max and min along `dim` are unique by more than MARGIN."""
    a = np.moveaxis(np.asarray(a), dim, -1)
    if a.shape[-1] < 2:
        return True
    s = np.sort(a, axis=-1)
    return np.all(s[..., -1] - s[..., -2] > MARGIN) and np.all(s[..., 1] - s[..., 0] > MARGIN)


def _gap_all(a):
    return _gap_along(np.asarray(a).reshape(-1), 0)


def _holds(cond, *args):
    """cond(*args), with an empty array (whose min or max NumPy refuses) counting as not met."""
    if cond is None:
        return True
    try:
        return bool(cond(*args))
    except ValueError:
        return False


def _broadcast(*shapes):
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        return None


# Unary ops: (name, fn(L, F, x), condition on x's values or None).
UNARY = [
    ("exp", lambda L, F, x: x.exp(), lambda a: a.size == 0 or a.max() < 4),
    ("tanh", lambda L, F, x: x.tanh(), None),
    ("sigmoid", lambda L, F, x: L.sigmoid(x), None),
    ("sin", lambda L, F, x: L.sin(x), None),
    ("cos", lambda L, F, x: x.cos(), None),
    ("neg", lambda L, F, x: -x, None),
    ("log", lambda L, F, x: L.log(x), lambda a: a.size == 0 or a.min() > 0.2),
    ("sqrt", lambda L, F, x: x.sqrt(), lambda a: a.size == 0 or a.min() > 0.2),
    ("square", lambda L, F, x: x**2, None),
    ("cube", lambda L, F, x: x**3, None),
    ("pow_1.5", lambda L, F, x: x**1.5, lambda a: a.size == 0 or a.min() > 0.2),
    ("pow_-2", lambda L, F, x: x**-2, lambda a: a.size == 0 or np.abs(a).min() > 0.3),
    ("rpow", lambda L, F, x: 2**x, lambda a: a.size == 0 or a.max() < 4),
    ("rdiv", lambda L, F, x: 1.5 / x, lambda a: a.size == 0 or np.abs(a).min() > 0.3),
    ("affine", lambda L, F, x: (x - 0.5) * 2.0 / 4 + 1, None),
    ("rsub", lambda L, F, x: 1 - x, None),
    ("softplus", lambda L, F, x: F.softplus(x), None),
    ("gelu", lambda L, F, x: F.gelu(x), None),
    ("gelu_tanh", lambda L, F, x: F.gelu(x, approximate="tanh"), None),
    ("relu", lambda L, F, x: L.relu(x), lambda a: _away(a, 0.0)),
    ("abs", lambda L, F, x: L.abs(x), lambda a: _away(a, 0.0)),
    ("leaky_relu", lambda L, F, x: F.leaky_relu(x, 0.1), lambda a: _away(a, 0.0)),
    ("clamp", lambda L, F, x: x.clamp(-1.0, 1.0), lambda a: _away(a, -1.0, 1.0)),
    ("clamp_min", lambda L, F, x: L.clamp(x, min=0.3), lambda a: _away(a, 0.3)),
    ("clamp_max", lambda L, F, x: x.clamp(max=-0.2), lambda a: _away(a, -0.2)),
    ("sum", lambda L, F, x: x.sum(), None),
    ("mean", lambda L, F, x: x.mean(), lambda a: a.size > 0),
    ("max", lambda L, F, x: x.max(), lambda a: a.size > 0 and _gap_all(a)),
    ("min", lambda L, F, x: L.min(x), lambda a: a.size > 0 and _gap_all(a)),
    ("clone", lambda L, F, x: x.clone(), None),
    ("flatten", lambda L, F, x: x.flatten(), None),
    ("reshape_-1", lambda L, F, x: x.reshape(-1), None),
    ("squeeze", lambda L, F, x: x.squeeze(), None),
    ("unsqueeze_0", lambda L, F, x: x.unsqueeze(0), None),
    ("cat_self", lambda L, F, x: L.cat([x, x * 0.5], dim=0), lambda a: a.ndim > 0),
    ("stack_self", lambda L, F, x: L.stack([x, x], dim=-1), None),
    ("matmul_self_t", lambda L, F, x: x @ x.transpose(-1, -2), lambda a: a.ndim >= 2),
    ("layer_norm", lambda L, F, x: F.layer_norm(x, list(x.shape[-1:])),
     lambda a: a.ndim >= 1 and a.shape[-1] >= 2 and np.all(a.std(axis=-1) > 0.05)),
]

# Ops along a dimension: (name, fn(L, F, x, dim, keepdim), condition(a, dim) or None).
ALONG = [
    ("sum_dim", lambda L, F, x, d, k: x.sum(d, keepdim=k), None),
    ("mean_dim", lambda L, F, x, d, k: L.mean(x, dim=d, keepdim=k), lambda a, d: a.shape[d] > 0),
    ("logsumexp", lambda L, F, x, d, k: L.logsumexp(x, d, keepdim=k), lambda a, d: a.shape[d] > 0),
    ("softmax", lambda L, F, x, d, k: x.softmax(d), None),
    ("log_softmax", lambda L, F, x, d, k: F.log_softmax(x, dim=d), None),
    ("max_dim", lambda L, F, x, d, k: x.max(d, keepdim=k).values, lambda a, d: a.shape[d] > 0 and _gap_along(a, d)),
    ("min_dim", lambda L, F, x, d, k: L.min(x, dim=d, keepdim=k)[0], lambda a, d: a.shape[d] > 0 and _gap_along(a, d)),
    ("var", lambda L, F, x, d, k: x.var(d, keepdim=k), lambda a, d: a.shape[d] >= 2),
    ("std", lambda L, F, x, d, k: x.std(d, keepdim=k),
     lambda a, d: a.shape[d] >= 2 and np.all(a.std(axis=d) > 0.05)),
    ("unsqueeze", lambda L, F, x, d, k: x.unsqueeze(d), None),
    ("select", lambda L, F, x, d, k: x.select(d, -1 if k else 0), lambda a, d: a.shape[d] > 0),
    ("narrow", lambda L, F, x, d, k: x.narrow(d, 1 if k else 0, 1), lambda a, d: a.shape[d] >= 2),
    ("split_first", lambda L, F, x, d, k: x.split(2, dim=d)[0], None),
    ("chunk_last", lambda L, F, x, d, k: x.chunk(2, dim=d)[-1], lambda a, d: a.shape[d] > 0),
    ("unbind", lambda L, F, x, d, k: x.unbind(d)[-1], lambda a, d: a.shape[d] > 0),
    ("cat_with_self", lambda L, F, x, d, k: L.cat([x.exp() if k else x, x], dim=d),
     lambda a, d: a.size == 0 or a.max() < 4),
    ("squeeze_dim", lambda L, F, x, d, k: x.squeeze(d), None),
]

# Broadcasting binary ops: (name, fn(L, F, a, b), condition(a, b) on the broadcast values or None).
BINARY = [
    ("add", lambda L, F, a, b: a + b, None),
    ("add_fn", lambda L, F, a, b: L.add(a, b), None),
    ("sub", lambda L, F, a, b: a - b, None),
    ("mul", lambda L, F, a, b: a * b, None),
    ("div", lambda L, F, a, b: a / b, lambda a, b: np.abs(b).min() > 0.3),
    ("pow", lambda L, F, a, b: a**b, lambda a, b: a.min() > 0.2 and np.abs(b).max() < 3),
    ("maximum", lambda L, F, a, b: L.maximum(a, b), lambda a, b: _away(a - b, 0.0)),
    ("minimum", lambda L, F, a, b: L.minimum(a, b), lambda a, b: _away(a - b, 0.0)),
]


def _pick(data, st, pool, pred=None):
    """The pool index of a value (one that satisfies `pred`, given the value's array), or None."""
    if pred is None:
        candidates = list(range(len(pool)))
    else:
        candidates = [k for k, v in enumerate(pool) if pred(_np(v.t))]
    if not candidates:
        return None
    return candidates[data.draw(st.integers(0, len(candidates) - 1))]


def _nd(n):
    return lambda a: a.ndim >= n


def _dim(data, st, ndim):
    return data.draw(st.integers(-ndim, ndim - 1))


def build(data, st, n_inputs, base_shape, n_steps):
    """Draws a Program (and its input arrays) from the hypothesis `data` object."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    arrays = []
    for _ in range(n_inputs):
        # Mostly the full shape, sometimes fewer dims or a 1: the inputs broadcast against each other.
        keep = data.draw(st.sampled_from(range(len(base_shape), -1, -1)))
        sizes = base_shape[len(base_shape) - keep:]
        shape = tuple(d if data.draw(st.sampled_from([True, True, False])) else 1 for d in sizes)
        arrays.append(rng.uniform(-2.0, 2.0, size=shape))
    program = Program(arrays)
    pool = [_Value(bp.tensor(a, dtype=bp.float64), leaf=True) for a in arrays]
    # In-place steps twice as often as the others: they hide the most bugs.
    kinds = ["unary", "along", "binary", "matmul", "index", "shape", "where", "loss", "inplace", "inplace"]
    for _ in range(n_steps):
        kind = data.draw(st.sampled_from(kinds))
        step = _BUILDERS[kind](data, st, pool, rng)
        if step is None:
            continue
        with bp.no_grad():
            args = [pool[i].t for i in step.args]
            if step.target is not None:
                # Try the in-place step on a copy, so a rejected step leaves the pool unchanged.
                copy = pool[step.target].t.clone()
                args = [copy if i == step.target else a for i, a in zip(step.args, args)]
            try:
                out = step.fn(bp, BF, *args, *[_const(bp, c) for c in step.consts])
            except (ValueError, TypeError, IndexError):
                continue  # shapes that do not fit this op: not a step of this program
        if not _ok(_np(out)):
            continue
        for i in step.args:
            pool[i].fresh = False
        program.steps.append(step)
        if step.target is None:
            pool.append(_Value(out))
            pool[-1].fresh = step.desc.startswith("clone_then_")
            pool[-1].inplaced = pool[-1].fresh
        else:
            pool[step.target].t = out
            pool[step.target].fresh = True  # this step read it, but may be followed by another
            pool[step.target].inplaced = True
    n = len(pool)
    for i in range(n_inputs, n):
        if not pool[i].inplaced and data.draw(st.booleans(), label=f"retain v{i}"):
            program.retain.append(i)
    for i in range(n):
        if i >= n_inputs or n == n_inputs:
            program.weights.append((i, rng.uniform(-1.0, 1.0, size=tuple(pool[i].t.shape))))
    return program


def _choose(data, st, table):
    names = [entry[0] for entry in table]
    name = data.draw(st.sampled_from(names))
    return table[names.index(name)]


def _unary(data, st, pool, rng):
    name, fn, cond = _choose(data, st, UNARY)
    i = _pick(data, st, pool, lambda a: _holds(cond, a))
    if i is None:
        return None
    return Step(name, fn, [i])


def _along(data, st, pool, rng):
    name, fn, cond = _choose(data, st, ALONG)
    i = _pick(data, st, pool, _nd(1))
    if i is None:
        return None
    a = _np(pool[i].t)
    d = _dim(data, st, a.ndim)
    keep = data.draw(st.booleans())
    if not _holds(cond, a, d):
        return None
    return Step(f"{name}[dim={d},flag={keep}]", lambda L, F, x: fn(L, F, x, d, keep), [i])


def _binary(data, st, pool, rng):
    name, fn, cond = _choose(data, st, BINARY)
    i = _pick(data, st, pool)
    a = _np(pool[i].t)
    j = _pick(data, st, pool, lambda b: _broadcast(a.shape, b.shape) is not None)
    b = _np(pool[j].t)
    shape = _broadcast(a.shape, b.shape)
    if not _holds(cond, np.broadcast_to(a, shape), np.broadcast_to(b, shape)):
        return None
    return Step(name, fn, [i, j])


def _matmul_fits(a, b):
    try:
        np.matmul(np.zeros(a.shape), np.zeros(b.shape))
    except ValueError:
        return False
    return True


def _matmul(data, st, pool, rng):
    form = data.draw(st.sampled_from(["matmul", "matmul_bt", "linear", "matmul_self_t"]))
    i = _pick(data, st, pool, _nd(2 if form == "matmul_self_t" else 1))
    if i is None:
        return None
    a = _np(pool[i].t)
    if form == "matmul_self_t":
        return Step("matmul_self_t", lambda L, F, x: x @ x.transpose(-1, -2), [i])
    if form == "linear":
        j = _pick(data, st, pool, lambda b: b.ndim == 2 and b.shape[1] == a.shape[-1])
        return None if j is None else Step("linear", lambda L, F, x, w: F.linear(x, w), [i, j])
    if form == "matmul_bt":
        j = _pick(data, st, pool, lambda b: b.ndim >= 2 and _matmul_fits(a, np.swapaxes(b, -1, -2)))
        return None if j is None else Step("matmul_bt", lambda L, F, x, y: x @ y.transpose(-1, -2), [i, j])
    j = _pick(data, st, pool, lambda b: b.ndim >= 1 and _matmul_fits(a, b))
    return None if j is None else Step("matmul", lambda L, F, x, y: L.matmul(x, y), [i, j])


def _index(data, st, pool, rng):
    i = _pick(data, st, pool, lambda a: a.ndim >= 1 and a.shape[0] > 0)
    if i is None:
        return None
    a = _np(pool[i].t)
    n = a.shape[0]
    form = data.draw(st.sampled_from(["int", "slice", "list", "mask", "ellipsis", "gather", "index_select"]))
    if form == "int":
        k = int(rng.integers(-n, n))
        return Step(f"index[{k}]", lambda L, F, x: x[k], [i])
    if form == "slice":
        lo, step = int(rng.integers(0, n)), int(rng.integers(1, 3))
        return Step(f"index[{lo}::{step}]", lambda L, F, x: x[lo::step], [i])
    if form == "ellipsis":
        return Step("index[None, ..., :1]", lambda L, F, x: x[None, ..., :1], [i])
    if form == "list":
        idx = rng.integers(-n, n, size=int(rng.integers(1, 5)))
        return Step(f"index[{idx.tolist()}]", lambda L, F, x, t: x[t], [i], consts=(idx,))
    if form == "mask":
        mask = rng.uniform(size=a.shape[:1]) > 0.4
        return Step("index[mask]", lambda L, F, x, m: x[m], [i], consts=(mask,))
    d = _dim(data, st, a.ndim)
    if form == "index_select":
        idx = rng.integers(0, a.shape[d], size=int(rng.integers(1, 4))) if a.shape[d] else np.zeros(0, np.int64)
        return Step(f"index_select[dim={d}]", lambda L, F, x, t: L.index_select(x, d, t), [i], consts=(idx,))
    if a.shape[d] == 0:
        return None
    shape = list(a.shape)
    shape[d] = int(rng.integers(1, 4))
    idx = rng.integers(0, a.shape[d], size=shape)
    return Step(f"gather[dim={d}]", lambda L, F, x, t: L.gather(x, d, t), [i], consts=(idx,))


def _shape(data, st, pool, rng):
    form = data.draw(st.sampled_from(["transpose", "permute", "reshape_rev", "expand", "expand_lead", "flatten_1",
                                      "mT", "view"]))
    need = {"transpose": _nd(2), "permute": _nd(2), "flatten_1": _nd(2), "mT": _nd(2), "expand": lambda a: 1 in a.shape}
    i = _pick(data, st, pool, need.get(form))
    if i is None:
        return None
    a = _np(pool[i].t)
    if form == "expand_lead":
        return Step("expand[2,...]", lambda L, F, x: x.expand(2, *x.shape), [i])
    if form == "expand":
        target = tuple(3 if s == 1 else s for s in a.shape)
        return Step(f"expand{target}", lambda L, F, x: x.expand(*target), [i])
    if form == "reshape_rev":
        return Step("reshape_reversed", lambda L, F, x: x.reshape(tuple(reversed(x.shape))), [i])
    if form == "view":
        return Step("contiguous_view_-1", lambda L, F, x: x.contiguous().view(-1), [i])
    if form == "transpose":
        d0, d1 = _dim(data, st, a.ndim), _dim(data, st, a.ndim)
        return Step(f"transpose({d0},{d1})", lambda L, F, x: x.transpose(d0, d1), [i])
    if form == "permute":
        perm = [int(p) for p in rng.permutation(a.ndim)]
        return Step(f"permute{perm}", lambda L, F, x: x.permute(*perm), [i])
    if form == "mT":
        return Step("mT", lambda L, F, x: x.mT, [i])
    return Step("flatten(1)", lambda L, F, x: L.flatten(x, 1), [i])


def _where(data, st, pool, rng):
    i = _pick(data, st, pool)
    a = _np(pool[i].t)
    j = _pick(data, st, pool, lambda b: _broadcast(a.shape, b.shape) is not None)
    shape = _broadcast(a.shape, tuple(pool[j].t.shape))
    mask_shape = shape[len(shape) - int(rng.integers(0, len(shape) + 1)):]
    mask = rng.uniform(size=mask_shape) > 0.5
    return Step("where", lambda L, F, x, y, m: L.where(m, x, y), [i, j], consts=(mask,))


def _loss(data, st, pool, rng):
    form = data.draw(st.sampled_from(["cross_entropy", "cross_entropy_weighted", "nll", "bce", "mse"]))
    if form in ("mse", "bce"):
        i = _pick(data, st, pool)
        a = _np(pool[i].t)
        if form == "bce":
            target = rng.uniform(size=a.shape)
            return Step("bce_with_logits", lambda L, F, x, t: F.binary_cross_entropy_with_logits(x, t), [i],
                        consts=(target,))
        j = _pick(data, st, pool, lambda b: b.shape == a.shape)
        return Step("mse_loss", lambda L, F, x, y: F.mse_loss(x, y), [i, j])
    i = _pick(data, st, pool, lambda a: a.ndim == 2 and a.shape[1] >= 2 and a.shape[0] > 0)
    if i is None:
        return None
    a = _np(pool[i].t)
    labels = rng.integers(0, a.shape[1], size=a.shape[0])
    if form == "nll":
        return Step("nll_loss(log_softmax)", lambda L, F, x, t: F.nll_loss(F.log_softmax(x, dim=1), t), [i],
                    consts=(labels,))
    if form == "cross_entropy":
        smoothing = float(data.draw(st.sampled_from([0.0, 0.1])))
        return Step(f"cross_entropy[smoothing={smoothing}]",
                    lambda L, F, x, t: F.cross_entropy(x, t, label_smoothing=smoothing), [i], consts=(labels,))
    w = rng.uniform(0.5, 2.0, size=a.shape[1])
    return Step("cross_entropy[weight]", lambda L, F, x, t, w: F.cross_entropy(x, t, weight=w), [i],
                consts=(labels, w))


# In-place ops: (name, fn(L, F, target, other) or fn(L, F, target), needs another value, condition).
INPLACE = [
    ("add_", lambda L, F, t, o: t.add_(o), True, None),
    ("sub_", lambda L, F, t, o: t.sub_(o), True, None),
    ("iadd", lambda L, F, t, o: t.__iadd__(o), True, None),
    ("mul_", lambda L, F, t, o: t.mul_(o), True, None),
    ("div_", lambda L, F, t, o: t.div_(o), True, lambda t, o: np.abs(o).min() > 0.3),
    ("mul_scalar_", lambda L, F, t: t.mul_(-1.5), False, None),
    ("div_scalar_", lambda L, F, t: t.div_(4.0), False, None),
    ("add_scalar_", lambda L, F, t: t.add_(0.25), False, None),
    ("clamp_", lambda L, F, t: t.clamp_(-1.0, 1.0), False, lambda t: _away(t, -1.0, 1.0)),
    ("setitem_0", lambda L, F, t, o: t.__setitem__(0, o), True, None),
    ("zero_", lambda L, F, t: t.zero_(), False, None),
    ("fill_", lambda L, F, t: t.fill_(0.75), False, None),
]


def _inplace(data, st, pool, rng):
    name, fn, binary, cond = _choose(data, st, INPLACE)
    on_existing = any(v.fresh for v in pool) and data.draw(st.booleans())
    if on_existing:
        k = _pick(data, st, [v for v in pool if v.fresh])
        k = [n for n, v in enumerate(pool) if v.fresh][k]
    else:
        k = _pick(data, st, pool, (lambda a: a.ndim >= 1 and a.shape[0] > 0) if name == "setitem_0" else None)
        if k is None:
            return None
    t = _np(pool[k].t)
    j = None
    if binary:
        if name == "setitem_0":
            if t.ndim == 0 or t.shape[0] == 0:
                return None
            j = _pick(data, st, pool, lambda o: _broadcast(t.shape[1:], o.shape) == t.shape[1:])
        else:
            j = _pick(data, st, pool, lambda o: _broadcast(t.shape, o.shape) == t.shape)
        if j is None:
            return None
        o = _np(pool[j].t)
        if on_existing and j == k and name in ("mul_", "div_"):
            return None  # PyTorch too refuses x.mul_(x) at backward: it saved x, then overwrote it
        if not _holds(cond, t, np.broadcast_to(o, t.shape) if name != "setitem_0" else o):
            return None
    elif not _holds(cond, t):
        return None

    def apply(L, F, target, *other):
        fn(L, F, target, *other)
        return target

    if on_existing:
        return Step(name, apply, [k] + ([j] if binary else []), target=k)

    def clone_then(L, F, x, *other):
        return apply(L, F, x.clone(), *other)

    return Step(f"clone_then_{name}", clone_then, [k] + ([j] if binary else []))


_BUILDERS = {
    "unary": _unary,
    "along": _along,
    "binary": _binary,
    "matmul": _matmul,
    "index": _index,
    "shape": _shape,
    "where": _where,
    "loss": _loss,
    "inplace": _inplace,
}
