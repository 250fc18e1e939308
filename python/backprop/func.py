"""Functional transforms, named and shaped as torch.func: grad, grad_and_value, vjp, jvp, jacrev,
jacfwd, hessian and functional_call.

Each transform runs the function on inputs that require grad and differentiates with the reverse
engine. Arguments and results may be pytrees (tuples, lists and dicts of tensors). Inside another
transform, and whenever an input already requires grad, gradients are taken with
create_graph=True, so transforms nest (grad(grad(f)), jacfwd(jacrev(f))) and results stay
differentiable. jvp is the double-vjp construction: J t = d/du <J^T u, t>, two reverse passes.
"""

import functools
import threading

from . import _core
from ._core import Tensor
from .autograd import enable_grad
from .autograd import grad as _autograd_grad

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "functional_call"]

_state = threading.local()


def _level():
    return getattr(_state, "level", 0)


class _Level:
    """One transform running: the transforms it calls must keep their gradients differentiable."""

    def __enter__(self):
        _state.level = _level() + 1

    def __exit__(self, *exc):
        _state.level -= 1
        return False


# ---- pytrees -------------------------------------------------------------------------------------


def _flatten(tree):
    """Leaves of a pytree (tuples, lists, dicts; anything else is a leaf) and a spec to rebuild it."""
    if isinstance(tree, (tuple, list)):
        leaves, specs = [], []
        for item in tree:
            ls, s = _flatten(item)
            leaves += ls
            specs.append((len(ls), s))
        return leaves, (type(tree), specs)
    if isinstance(tree, dict):
        keys = list(tree)
        leaves, specs = [], []
        for k in keys:
            ls, s = _flatten(tree[k])
            leaves += ls
            specs.append((len(ls), s))
        return leaves, (dict, (keys, specs))
    return [tree], None


def _unflatten(leaves, spec):
    leaves = list(leaves)
    if spec is None:
        return leaves[0]
    kind, rest = spec
    if kind is dict:
        keys, specs = rest
        out, i = {}, 0
        for k, (n, s) in zip(keys, specs):
            out[k] = _unflatten(leaves[i:i + n], s)
            i += n
        return out
    out, i = [], 0
    for n, s in rest:
        out.append(_unflatten(leaves[i:i + n], s))
        i += n
    return kind(out) if kind in (tuple, list) else kind(*out)


def _check_leaves(leaves, what, fn_name):
    for x in leaves:
        if not isinstance(x, Tensor):
            raise TypeError(f"{fn_name}: {what} must be tensors or pytrees (tuples, lists, dicts) of tensors, "
                            f"got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"{fn_name}: {what} must be floating point to be differentiated, got {x.dtype}; "
                            "convert with .double() or .float()")


# ---- the common core -----------------------------------------------------------------------------


def _prepare(leaves):
    """Copies of the inputs that require grad and are the variables of this level: an input that
    already requires grad (an outer level's, or the user's) is passed through an identity op, so
    gradients with respect to it here stop at this level."""
    out = []
    for x in leaves:
        out.append(x.view_as(x) if x.requires_grad else x.detach().requires_grad_())
    return out


def _keep_graph(leaves):
    return _level() > 0 or any(x.requires_grad for x in leaves)


def _finish(x, keep):
    if x is None or not isinstance(x, Tensor):
        return x
    return x if keep else x.detach()


def _grads(outputs, inputs, cotangents, keep, retain):
    """d<outputs, cotangents>/d inputs, zeros where an input is unused."""
    pairs = [(o, c) for o, c in zip(outputs, cotangents) if o.requires_grad]
    if not pairs:
        return [x.detach() * 0 for x in inputs]
    gs = _autograd_grad([o for o, _ in pairs], inputs, [c for _, c in pairs], retain_graph=retain or keep,
                        create_graph=keep, allow_unused=True)
    return [g if g is not None else x.detach() * 0 for g, x in zip(gs, inputs)]


def _split_aux(out, has_aux, fn_name):
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{fn_name}(f, has_aux=True): f must return a (output, aux) tuple, "
                           f"got {type(out).__name__}")
    return out


def _argnums_leaves(args, argnums, fn_name):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    if not nums:
        raise RuntimeError(f"{fn_name}: argnums must be an int or a non-empty tuple of ints")
    for n in nums:
        if not isinstance(n, int) or not -len(args) <= n < len(args):
            raise RuntimeError(f"{fn_name}: argnums {argnums!r} is out of range for {len(args)} positional arguments")
    nums = tuple(n % len(args) for n in nums)
    return single, nums


# ---- vjp and jvp ---------------------------------------------------------------------------------


def vjp(func, *primals, has_aux=False):
    """Runs func(*primals) and returns (output, vjp_fn) (and aux with has_aux=True); vjp_fn(cotangents),
    with cotangents shaped as output, gives the vector-Jacobian product for each primal."""
    leaves, spec = _flatten(primals)
    _check_leaves(leaves, "primals", "vjp")
    keep = _keep_graph(leaves)
    xs = _prepare(leaves)
    with _Level(), enable_grad():
        out = func(*_unflatten(xs, spec))
    out, aux = _split_aux(out, has_aux, "vjp")
    out_leaves, out_spec = _flatten(out)
    _check_leaves(out_leaves, "outputs of the function", "vjp")

    def vjp_fn(cotangents):
        ct_leaves, ct_spec = _flatten(cotangents)
        if len(ct_leaves) != len(out_leaves):
            raise RuntimeError(f"vjp_fn: got {len(ct_leaves)} cotangents for {len(out_leaves)} outputs")
        for c, o in zip(ct_leaves, out_leaves):
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(f"vjp_fn: a cotangent has shape {tuple(c.shape)} but its output has "
                                   f"shape {tuple(o.shape)}")
        inner_keep = keep or _level() > 0 or any(c.requires_grad for c in ct_leaves)
        with _Level(), enable_grad():
            gs = _grads(out_leaves, xs, ct_leaves, inner_keep, retain=True)
        gs = [_finish(g, inner_keep) for g in gs]
        return _unflatten(gs, spec)

    out = _unflatten([_finish(o, keep) for o in out_leaves], out_spec)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def jvp(func, primals, tangents, *, has_aux=False):
    """(func(*primals), J tangents): the Jacobian-vector product, by two reverse passes (the
    double-vjp construction); needs create_graph support in the engine."""
    if not isinstance(primals, tuple) or not isinstance(tangents, tuple):
        raise RuntimeError("jvp: primals and tangents must be tuples (one entry per argument of func)")
    leaves, spec = _flatten(primals)
    t_leaves, t_spec = _flatten(tangents)
    _check_leaves(leaves, "primals", "jvp")
    _check_leaves(t_leaves, "tangents", "jvp")
    if len(t_leaves) != len(leaves) or any(tuple(a.shape) != tuple(b.shape) for a, b in zip(leaves, t_leaves)):
        raise RuntimeError("jvp: tangents must have the structure and shapes of primals, got "
                           f"{[tuple(t.shape) for t in t_leaves]} for {[tuple(p.shape) for p in leaves]}")
    keep = _keep_graph(leaves) or any(t.requires_grad for t in t_leaves)
    xs = _prepare(leaves)
    with _Level(), enable_grad():
        out = func(*_unflatten(xs, spec))
        out, aux = _split_aux(out, has_aux, "jvp")
        out_leaves, out_spec = _flatten(out)
        _check_leaves(out_leaves, "outputs of the function", "jvp")
        # u is a dummy cotangent: g(u) = J^T u is linear in u, and d<g(u), t>/du = J t.
        us = [_core.zeros(*o.shape, dtype=o.dtype).requires_grad_() for o in out_leaves]
        gs = _grads(out_leaves, xs, us, keep=True, retain=True)
        dependent = [(g, t) for g, t in zip(gs, t_leaves) if g.requires_grad]
        if dependent:
            jv = _autograd_grad([g for g, _ in dependent], us, [t for _, t in dependent], retain_graph=True,
                                create_graph=keep, allow_unused=True)
        else:
            jv = [None] * len(us)
        jv = [j if j is not None else u.detach() * 0 for j, u in zip(jv, us)]
    out = _unflatten([_finish(o, keep) for o in out_leaves], out_spec)
    jv = _unflatten([_finish(j, keep) for j in jv], out_spec)
    return (out, jv, aux) if has_aux else (out, jv)


# ---- grad ----------------------------------------------------------------------------------------


def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning (gradient, value) of a function with one scalar output; with
    has_aux=True func returns (output, aux) and the result is (gradient, (value, aux))."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        single, nums = _argnums_leaves(args, argnums, "grad")
        chosen = tuple(args[n] for n in nums)
        leaves, spec = _flatten(chosen)
        _check_leaves(leaves, "the differentiated arguments", "grad")
        keep = _keep_graph(leaves)
        xs = _prepare(leaves)
        new_chosen = _unflatten(xs, spec)
        call_args = list(args)
        for n, v in zip(nums, new_chosen):
            call_args[n] = v
        with _Level(), enable_grad():
            out = func(*call_args, **kwargs)
            out, aux = _split_aux(out, has_aux, "grad")
            if not isinstance(out, Tensor) or out.numel() != 1:
                shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
                raise RuntimeError(f"grad: the function must return one tensor with a single element, got "
                                   f"{shape}; reduce it (for example .sum()) or use jacrev or vjp")
            gs = _grads([out], xs, [_core.ones(*out.shape, dtype=out.dtype)], keep, retain=False)
        gs = [_finish(g, keep) for g in gs]
        g = _unflatten(gs, spec)
        g = g[0] if single else g
        value = _finish(out, keep)
        return (g, (value, aux)) if has_aux else (g, value)

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of a function with one scalar output with respect to the argument(s) argnums
    (an int or a tuple), each a tensor or a pytree of tensors; with has_aux=True func returns
    (output, aux) and the result is (gradient, aux)."""
    inner = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = inner(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


# ---- Jacobians -----------------------------------------------------------------------------------


def _one_hot(like, i):
    e = _core.zeros(like.numel(), dtype=like.dtype)
    e[i] = 1.0
    return e.reshape(*like.shape) if like.ndim else e.reshape(())


def _jacobian_of(wrapper_name, argnums, has_aux, func, columns):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        single, nums = _argnums_leaves(args, argnums, wrapper_name)
        chosen = tuple(args[n] for n in nums)

        def of_chosen(*values):
            call_args = list(args)
            for n, v in zip(nums, values):
                call_args[n] = v
            return func(*call_args, **kwargs)

        in_leaves, in_spec = _flatten(chosen)
        _check_leaves(in_leaves, "the differentiated arguments", wrapper_name)
        out_leaves, out_spec, blocks, aux = columns(of_chosen, chosen, in_leaves, in_spec)
        # blocks[o][a]: output o's Jacobian with respect to input a, shaped out.shape + in.shape.
        per_output = []
        for o in range(len(out_leaves)):
            per_input = _unflatten(blocks[o], in_spec)
            per_output.append(per_input[0] if single else per_input)
        result = _unflatten(per_output, out_spec)
        return (result, aux) if has_aux else result

    return wrapper


def jacrev(func, argnums=0, has_aux=False):
    """The Jacobian of func with respect to the argument(s) argnums, row by row with one vjp per
    output element. Shapes: output.shape + input.shape, nested as the outputs then the inputs."""

    def rows(of_chosen, chosen, in_leaves, in_spec):
        out, vjp_fn, *aux = vjp(of_chosen, *chosen, has_aux=has_aux)
        out_leaves, out_spec = _flatten(out)
        blocks = []
        for o, y in enumerate(out_leaves):
            per_in = [[] for _ in in_leaves]
            for i in range(y.numel()):
                cts = [_one_hot(z, i) if k == o else _core.zeros(*z.shape, dtype=z.dtype)
                       for k, z in enumerate(out_leaves)]
                g_leaves, _ = _flatten(vjp_fn(_unflatten(cts, out_spec)))
                for a, g in enumerate(g_leaves):
                    per_in[a].append(g.reshape(-1))
            blocks.append([_stack_rows(rows_a, y, x) for rows_a, x in zip(per_in, in_leaves)])
        return out_leaves, out_spec, blocks, (aux[0] if has_aux else None)

    return _jacobian_of("jacrev", argnums, has_aux, func, rows)


def _stack_rows(rows, y, x):
    if not rows:
        return _core.zeros(*(tuple(y.shape) + tuple(x.shape)), dtype=x.dtype)
    return _core.stack(rows, 0).reshape(*(tuple(y.shape) + tuple(x.shape)))


def jacfwd(func, argnums=0, has_aux=False):
    """The Jacobian of func with respect to the argument(s) argnums, column by column with one jvp
    per input element (each a double vjp). Same shapes as jacrev."""

    def cols(of_chosen, chosen, in_leaves, in_spec):
        per_in_cols = []
        out_leaves = out_spec = aux = None
        for a, x in enumerate(in_leaves):
            cols_a = []
            for j in range(x.numel()):
                ts = [_one_hot(z, j) if k == a else _core.zeros(*z.shape, dtype=z.dtype)
                      for k, z in enumerate(in_leaves)]
                res = jvp(of_chosen, chosen, _unflatten(ts, in_spec), has_aux=has_aux)
                out, jv = res[0], res[1]
                if has_aux:
                    aux = res[2]
                out_leaves, out_spec = _flatten(out)
                jv_leaves, _ = _flatten(jv)
                cols_a.append([v.reshape(-1) for v in jv_leaves])
            per_in_cols.append(cols_a)
        if out_leaves is None:  # no input elements: evaluate once for the output's shapes
            res = of_chosen(*chosen)
            out, aux = _split_aux(res, has_aux, "jacfwd")
            out_leaves, out_spec = _flatten(out)
        blocks = []
        for o, y in enumerate(out_leaves):
            row = []
            for a, x in enumerate(in_leaves):
                shape = tuple(y.shape) + tuple(x.shape)
                if x.numel() == 0 or y.numel() == 0:
                    row.append(_core.zeros(*shape, dtype=x.dtype))
                else:
                    row.append(_core.stack([c[o] for c in per_in_cols[a]], 1).reshape(*shape))
            blocks.append(row)
        return out_leaves, out_spec, blocks, aux

    return _jacobian_of("jacfwd", argnums, has_aux, func, cols)


def hessian(func, argnums=0):
    """The Hessian of a function with one scalar output: jacfwd(jacrev(func))."""
    return jacfwd(jacrev(func, argnums), argnums)


# ---- modules -------------------------------------------------------------------------------------


def functional_call(module, parameter_and_buffer_dicts, args=(), kwargs=None, *, strict=False):
    """Calls module(*args, **kwargs) with its parameters and buffers replaced by the tensors in the
    dict (or tuple of dicts) given, keyed as named_parameters() names them; the module is restored
    afterwards. Differentiate with respect to the dict with grad(..., argnums) or jacrev."""
    dicts = parameter_and_buffer_dicts
    dicts = tuple(dicts) if isinstance(dicts, (tuple, list)) else (dicts,)
    merged = {}
    for d in dicts:
        for k, v in d.items():
            if k in merged:
                raise ValueError(f"functional_call: {k!r} appears in more than one of the dicts given")
            merged[k] = v
    unknown = [k for k in merged if _slot(module, k) is None]
    if unknown:
        known = [n for n, _ in module.named_parameters()] + [n for n, _ in module.named_buffers()]
        raise ValueError(f"functional_call: {unknown} are not parameters or buffers of {type(module).__name__}; "
                         f"it has {known}")
    if strict:
        missing = [n for n, _ in list(module.named_parameters()) + list(module.named_buffers()) if n not in merged]
        if missing:
            raise ValueError(f"functional_call(strict=True): no tensor given for {missing}")
    if not isinstance(args, tuple):
        args = (args,)
    saved = []
    try:
        for name, value in merged.items():
            table, attr = _slot(module, name)
            saved.append((table, attr, table[attr]))
            table[attr] = value  # past __setattr__, which would make it a fresh Parameter
        return module(*args, **(kwargs or {}))
    finally:
        for table, attr, old in reversed(saved):
            table[attr] = old


def _slot(module, name):
    """(the dict that holds parameter or buffer `name`, its key there), or None."""
    *path, attr = name.split(".")
    for p in path:
        module = module._modules.get(p) if hasattr(module, "_modules") else None
        if module is None:
            return None
    for table in (module._parameters, module._buffers):
        if attr in table:
            return table, attr
    return None
