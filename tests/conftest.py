"""Shared fixtures and the table of differentiable ops checked by the gradcheck and torch suites.

Every case is a function ``fn(lib, F, xs, ex)`` written once and run against both ``backprop`` and
``torch``: ``lib`` is the top-level module, ``F`` its ``nn.functional``, ``xs`` the differentiable
inputs and ``ex`` a dict of non-differentiable inputs (labels, masks, index arrays) already turned
into tensors of ``lib``. Shapes are chosen so that broadcasting is exercised wherever the op
broadcasts.
"""

import numpy as np
import pytest

import backprop


@pytest.fixture(autouse=True)
def _seed_and_grad_mode():
    backprop.manual_seed(0)
    yield
    # A failing test must not leave grad mode off, or anomaly mode on (the argument sweep calls
    # set_detect_anomaly with odd values), for the tests after it.
    backprop.autograd.set_grad_enabled(True)
    backprop.autograd.set_detect_anomaly(False)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# ---- input generators -----------------------------------------------------------------------


def uniform(low=-2.0, high=2.0):
    return lambda rng, shape: rng.uniform(low, high, size=shape)


def positive(low=0.5, high=2.0):
    return uniform(low, high)


def away_from(*kinks, low=-2.0, high=2.0, gap=0.1):
    """Uniform values at least `gap` from every kink (where the op is not differentiable)."""

    def gen(rng, shape):
        a = rng.uniform(low, high, size=shape)
        for k in kinks:
            close = np.abs(a - k) < gap
            a = np.where(close, k + np.sign(a - k + 1e-12) * (gap + 0.05), a)
        return a

    return gen


def distinct(rng, shape):
    """A permutation of well-separated values: no ties for max/min/argmax."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.37 - 0.37 * n / 2).reshape(shape)


class Case:
    def __init__(self, name, fn, shapes, gens=None, extra=None, f32_tol=None):
        self.name = name
        self.fn = fn
        self.shapes = shapes
        self.gens = gens or [uniform()] * len(shapes)
        if not isinstance(self.gens, (list, tuple)):
            self.gens = [self.gens] * len(shapes)
        self.extra = extra or (lambda rng: {})
        self.f32_tol = f32_tol

    def __repr__(self):
        return self.name

    def arrays(self, seed=0):
        rng = np.random.default_rng(seed)
        xs = [g(rng, s) for g, s in zip(self.gens, self.shapes)]
        return xs, self.extra(rng)


def labels(n, c, shape=None):
    return lambda rng: {"t": rng.integers(0, c, size=shape if shape is not None else (n,))}


def _probs(rng, shape):
    p = rng.uniform(0.1, 1.0, size=shape)
    return p / p.sum(axis=1, keepdims=True)


P = positive()
U = uniform()


def _put(t, index, value):
    """out = t; out[index] = value, written into a non-leaf copy so the leaves stay leaves."""
    out = t * 1.0
    out[index] = value
    return out


def with_zeros(rng, shape):
    """Uniform values with exact zeros: one in some rows, two in others (cumprod's hard case)."""
    a = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    flat = a.reshape(-1, shape[-1])
    flat[0, 1] = 0.0
    if flat.shape[0] > 1:
        flat[1, 0] = 0.0
        flat[1, -1] = 0.0
    return a


INF = float("inf")


OP_CASES = [
    # ---- arithmetic with broadcasting ----------------------------------------------------------
    Case("add", lambda L, F, x, e: x[0] + x[1], [(3, 1, 4), (2, 4)]),
    Case("add_fn", lambda L, F, x, e: L.add(x[0], x[1]), [(2, 3), (3,)]),
    Case("sub", lambda L, F, x, e: x[0] - x[1], [(2, 1), (1, 3)]),
    Case("mul", lambda L, F, x, e: x[0] * x[1], [(4, 1, 3), (1, 2, 1)]),
    Case("div", lambda L, F, x, e: x[0] / x[1], [(2, 3), (3,)], [U, P]),
    Case("pow_tensor", lambda L, F, x, e: x[0] ** x[1], [(2, 3), (2, 1)], [P, U]),
    Case("pow_fn", lambda L, F, x, e: L.pow(x[0], x[1]), [(3,), (2, 3)], [P, U]),
    Case("pow_int", lambda L, F, x, e: x[0] ** 3, [(2, 3)]),
    Case("pow_float", lambda L, F, x, e: x[0] ** 2.5, [(2, 3)], [P]),
    Case("pow_neg", lambda L, F, x, e: x[0] ** -1.5, [(4,)], [P]),
    Case("rpow", lambda L, F, x, e: 2 ** x[0], [(2, 3)]),
    Case("radd", lambda L, F, x, e: 1.5 + x[0], [(3,)]),
    Case("rsub", lambda L, F, x, e: 1 - x[0], [(2, 2)]),
    Case("rmul", lambda L, F, x, e: 3 * x[0], [(2, 2)]),
    Case("rdiv", lambda L, F, x, e: 2 / x[0], [(2, 3)], [P]),
    Case("scalar_ops", lambda L, F, x, e: (x[0] - 0.5) * 2.0 / 4 + 1, [(5,)]),
    Case("neg", lambda L, F, x, e: -x[0], [(2, 3)]),
    Case("neg_fn", lambda L, F, x, e: L.neg(x[0]), [(3,)]),
    Case("scalar_0d", lambda L, F, x, e: x[0] * x[1], [(), (2, 3)]),
    # ---- elementwise math ---------------------------------------------------------------------
    Case("exp", lambda L, F, x, e: x[0].exp(), [(2, 3)]),
    Case("exp_fn", lambda L, F, x, e: L.exp(x[0]), [(4,)]),
    Case("log", lambda L, F, x, e: L.log(x[0]), [(2, 3)], [P]),
    Case("sqrt", lambda L, F, x, e: x[0].sqrt(), [(2, 3)], [P]),
    Case("abs", lambda L, F, x, e: L.abs(x[0]), [(2, 3)], [away_from(0.0)]),
    Case("clamp", lambda L, F, x, e: L.clamp(x[0], -1.0, 1.0), [(3, 4)], [away_from(-1.0, 1.0)]),
    Case("clamp_min", lambda L, F, x, e: x[0].clamp(min=0.5), [(3, 4)], [away_from(0.5)]),
    Case("clamp_max", lambda L, F, x, e: x[0].clamp(max=-0.25), [(3, 4)], [away_from(-0.25)]),
    Case("maximum", lambda L, F, x, e: L.maximum(x[0], x[1]), [(2, 3), (3,)], [distinct, distinct]),
    Case("minimum", lambda L, F, x, e: L.minimum(x[0], x[1]), [(2, 1), (1, 3)], [distinct, distinct]),
    Case("where", lambda L, F, x, e: L.where(e["c"], x[0], x[1]), [(2, 3), (3,)],
         extra=lambda rng: {"c": rng.uniform(size=(2, 1)) > 0.5}),
    Case("where_mask_from_x", lambda L, F, x, e: L.where(x[0] > 0, x[0], x[0] * 0.1), [(3, 3)], [away_from(0.0)]),
    # ---- activations --------------------------------------------------------------------------
    Case("relu", lambda L, F, x, e: L.relu(x[0]), [(2, 3)], [away_from(0.0)]),
    Case("relu_method", lambda L, F, x, e: x[0].relu(), [(5,)], [away_from(0.0)]),
    Case("F_relu", lambda L, F, x, e: F.relu(x[0]), [(5,)], [away_from(0.0)]),
    Case("leaky_relu", lambda L, F, x, e: F.leaky_relu(x[0], 0.2), [(2, 3)], [away_from(0.0)]),
    Case("leaky_relu_default", lambda L, F, x, e: F.leaky_relu(x[0]), [(6,)], [away_from(0.0)]),
    Case("sigmoid", lambda L, F, x, e: L.sigmoid(x[0]), [(2, 3)], [uniform(-4, 4)]),
    Case("tanh", lambda L, F, x, e: x[0].tanh(), [(2, 3)]),
    Case("gelu", lambda L, F, x, e: F.gelu(x[0]), [(2, 3)], [uniform(-3, 3)]),
    Case("gelu_tanh", lambda L, F, x, e: F.gelu(x[0], approximate="tanh"), [(2, 3)], [uniform(-3, 3)]),
    Case("softplus", lambda L, F, x, e: F.softplus(x[0]), [(2, 3)], [uniform(-4, 4)]),
    Case("softplus_beta", lambda L, F, x, e: F.softplus(x[0], beta=2.0, threshold=3.0), [(3, 3)],
         [away_from(1.5, low=-3, high=3)]),
    # ---- linear algebra -----------------------------------------------------------------------
    Case("matmul_1d_1d", lambda L, F, x, e: L.matmul(x[0], x[1]), [(4,), (4,)]),
    Case("matmul_2d_1d", lambda L, F, x, e: x[0] @ x[1], [(3, 4), (4,)]),
    Case("matmul_1d_2d", lambda L, F, x, e: x[0] @ x[1], [(3,), (3, 2)]),
    Case("matmul_2d_2d", lambda L, F, x, e: x[0] @ x[1], [(2, 3), (3, 4)]),
    Case("matmul_batched", lambda L, F, x, e: x[0] @ x[1], [(2, 2, 3), (2, 3, 2)]),
    Case("matmul_batch_broadcast", lambda L, F, x, e: x[0] @ x[1], [(2, 1, 2, 3), (3, 3, 2)]),
    Case("matmul_3d_2d", lambda L, F, x, e: x[0] @ x[1], [(2, 3, 4), (4, 2)]),
    Case("matmul_3d_1d", lambda L, F, x, e: x[0] @ x[1], [(2, 3, 4), (4,)]),
    Case("matmul_1d_3d", lambda L, F, x, e: x[0] @ x[1], [(3,), (2, 3, 2)]),
    Case("matmul_transposed", lambda L, F, x, e: x[0].t() @ x[1].transpose(0, 1), [(3, 2), (4, 3)]),
    Case("linear", lambda L, F, x, e: F.linear(x[0], x[1], x[2]), [(3, 4), (2, 4), (2,)]),
    Case("linear_nobias", lambda L, F, x, e: F.linear(x[0], x[1]), [(3, 4), (2, 4)]),
    Case("linear_3d", lambda L, F, x, e: F.linear(x[0], x[1], x[2]), [(2, 2, 3), (4, 3), (4,)]),
    Case("linear_1d", lambda L, F, x, e: F.linear(x[0], x[1], x[2]), [(3,), (2, 3), (2,)]),
    # ---- reductions ---------------------------------------------------------------------------
    Case("sum", lambda L, F, x, e: x[0].sum(), [(2, 3)]),
    Case("sum_dim", lambda L, F, x, e: x[0].sum(1), [(2, 3, 2)]),
    Case("sum_dim_keepdim", lambda L, F, x, e: L.sum(x[0], dim=0, keepdim=True), [(2, 3)]),
    Case("sum_dims", lambda L, F, x, e: x[0].sum(dim=(0, 2)), [(2, 3, 2)]),
    Case("sum_neg_dim", lambda L, F, x, e: x[0].sum(-1), [(2, 3)]),
    Case("mean", lambda L, F, x, e: x[0].mean(), [(2, 3)]),
    Case("mean_dim", lambda L, F, x, e: L.mean(x[0], 1), [(2, 3, 2)]),
    Case("mean_dims_keepdim", lambda L, F, x, e: x[0].mean(dim=(-1, 0), keepdim=True), [(2, 3, 2)]),
    Case("max_all", lambda L, F, x, e: x[0].max(), [(2, 3)], [distinct]),
    Case("min_all", lambda L, F, x, e: L.min(x[0]), [(2, 3)], [distinct]),
    Case("max_dim", lambda L, F, x, e: x[0].max(dim=1)[0], [(3, 4)], [distinct]),
    Case("max_dim_values", lambda L, F, x, e: L.max(x[0], 0).values, [(3, 4)], [distinct]),
    Case("max_dim_keepdim", lambda L, F, x, e: x[0].max(1, keepdim=True).values, [(2, 3, 2)], [distinct]),
    Case("min_dim", lambda L, F, x, e: x[0].min(dim=-1).values, [(3, 4)], [distinct]),
    Case("logsumexp", lambda L, F, x, e: L.logsumexp(x[0], dim=1), [(3, 4)]),
    Case("logsumexp_keepdim", lambda L, F, x, e: x[0].logsumexp(0, keepdim=True), [(3, 4)]),
    Case("logsumexp_dims", lambda L, F, x, e: x[0].logsumexp((0, 2)), [(2, 3, 2)]),
    Case("amin", lambda L, F, x, e: L.amin(x[0], dim=1), [(3, 4)], [distinct]),
    Case("amin_dims_keepdim", lambda L, F, x, e: x[0].amin((0, 2), keepdim=True), [(2, 3, 2)], [distinct]),
    Case("std", lambda L, F, x, e: x[0].std(), [(3, 4)]),
    Case("std_dim_biased", lambda L, F, x, e: L.std(x[0], dim=1, unbiased=False, keepdim=True), [(3, 4)]),
    Case("std_correction", lambda L, F, x, e: x[0].std(dim=(0, 2), correction=2), [(3, 2, 2)]),
    # ---- shape and views ----------------------------------------------------------------------
    Case("reshape", lambda L, F, x, e: x[0].reshape(3, 2) * x[1], [(2, 3), (2,)]),
    Case("reshape_fn", lambda L, F, x, e: L.reshape(x[0], (-1,)), [(2, 3)]),
    Case("reshape_noncontig", lambda L, F, x, e: x[0].t().reshape(6), [(2, 3)]),
    Case("view", lambda L, F, x, e: x[0].view(3, -1), [(2, 3)]),
    Case("flatten", lambda L, F, x, e: x[0].flatten(), [(2, 3, 2)]),
    Case("flatten_range", lambda L, F, x, e: L.flatten(x[0], 1, 2), [(2, 3, 2)]),
    Case("transpose", lambda L, F, x, e: x[0].transpose(0, 2) * x[1], [(2, 3, 4), (2,)]),
    Case("permute", lambda L, F, x, e: x[0].permute(2, 0, 1) * x[1], [(2, 3, 4), (3,)]),
    Case("T", lambda L, F, x, e: x[0].T * x[1], [(2, 3), (2,)]),
    Case("squeeze", lambda L, F, x, e: x[0].squeeze(), [(1, 3, 1)]),
    Case("squeeze_dim", lambda L, F, x, e: x[0].squeeze(0), [(1, 3, 1)]),
    Case("squeeze_dims", lambda L, F, x, e: L.squeeze(x[0], (0, -1, 1)), [(1, 3, 1)]),
    Case("unsqueeze", lambda L, F, x, e: x[0].unsqueeze(1) * x[1], [(2, 3), (2, 1, 1)]),
    Case("expand", lambda L, F, x, e: x[0].expand(2, 3, 4), [(3, 1)]),
    Case("expand_minus1", lambda L, F, x, e: x[0].expand(2, -1), [(3,)]),
    Case("cat", lambda L, F, x, e: L.cat([x[0], x[1]], dim=1), [(2, 3), (2, 1)]),
    Case("cat_three", lambda L, F, x, e: L.cat([x[0], x[1], x[0]]), [(2, 2), (1, 2)]),
    Case("stack", lambda L, F, x, e: L.stack([x[0], x[1]], dim=1), [(2, 3), (2, 3)]),
    Case("stack_last", lambda L, F, x, e: L.stack([x[0], x[1], x[0]], dim=-1), [(3,), (3,)]),
    # ---- indexing -----------------------------------------------------------------------------
    Case("index_int", lambda L, F, x, e: x[0][1], [(3, 4)]),
    Case("index_neg", lambda L, F, x, e: x[0][-1, 2], [(3, 4)]),
    Case("index_slice", lambda L, F, x, e: x[0][1:, ::2], [(3, 4)]),
    Case("index_slice_neg", lambda L, F, x, e: x[0][:-1, -3:], [(3, 4)]),
    Case("index_none_ellipsis", lambda L, F, x, e: x[0][None, ..., 1], [(2, 3, 2)]),
    Case("index_array", lambda L, F, x, e: x[0][e["i"]], [(4, 3)], extra=lambda rng: {"i": np.array([0, 2, 2, 3, 0])}),
    Case("index_array_dim1", lambda L, F, x, e: x[0][:, e["i"]], [(2, 4)], extra=lambda rng: {"i": np.array([3, 1, 3])}),
    Case("index_two_arrays", lambda L, F, x, e: x[0][e["i"], e["j"]], [(3, 4)],
         extra=lambda rng: {"i": np.array([0, 2, 2]), "j": np.array([1, 3, 1])}),
    Case("index_array_2d", lambda L, F, x, e: x[0][e["i"]], [(4,)], extra=lambda rng: {"i": np.array([[0, 1], [1, 3]])}),
    Case("index_mask", lambda L, F, x, e: x[0][e["m"]], [(3, 4)],
         extra=lambda rng: {"m": np.array([[1, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 0]], dtype=bool)}),
    Case("index_mask_rows", lambda L, F, x, e: x[0][e["m"]], [(3, 2)], extra=lambda rng: {"m": np.array([True, False, True])}),
    Case("index_mask_from_x", lambda L, F, x, e: x[0][x[0] > 0], [(3, 4)], [away_from(0.0)]),
    Case("setitem_slice", lambda L, F, x, e: _put(x[0], (slice(0, 2), 1), x[1]), [(3, 4), (2,)]),
    Case("setitem_ellipsis_broadcast", lambda L, F, x, e: _put(x[0], (..., None, 0), x[1]), [(2, 3), (1,)]),
    Case("setitem_scalar", lambda L, F, x, e: _put(x[0], (1, slice(None, None, 2)), 0.5) * x[0], [(2, 4)]),
    Case("setitem_array", lambda L, F, x, e: _put(x[0], e["i"], x[1]), [(4, 3), (2, 3)],
         extra=lambda rng: {"i": np.array([3, 0])}),
    Case("setitem_mask", lambda L, F, x, e: _put(x[0], e["m"], x[1]), [(2, 3), (3,)],
         extra=lambda rng: {"m": np.array([[1, 0, 1], [0, 1, 0]], dtype=bool)}),
    # ---- softmax and losses -------------------------------------------------------------------
    Case("softmax", lambda L, F, x, e: L.softmax(x[0], dim=1), [(3, 4)]),
    Case("softmax_dim0", lambda L, F, x, e: F.softmax(x[0], dim=0), [(3, 4)]),
    Case("softmax_method_3d", lambda L, F, x, e: x[0].softmax(-1), [(2, 3, 4)]),
    Case("log_softmax", lambda L, F, x, e: F.log_softmax(x[0], dim=-1), [(3, 4)]),
    Case("log_softmax_dim0", lambda L, F, x, e: L.log_softmax(x[0], 0), [(3, 4)]),
    Case("cross_entropy", lambda L, F, x, e: F.cross_entropy(x[0], e["t"]), [(4, 5)], extra=labels(4, 5)),
    Case("cross_entropy_sum", lambda L, F, x, e: F.cross_entropy(x[0], e["t"], reduction="sum"), [(4, 3)],
         extra=labels(4, 3)),
    Case("cross_entropy_none", lambda L, F, x, e: F.cross_entropy(x[0], e["t"], reduction="none"), [(4, 3)],
         extra=labels(4, 3)),
    Case("cross_entropy_smoothing", lambda L, F, x, e: F.cross_entropy(x[0], e["t"], label_smoothing=0.2), [(4, 3)],
         extra=labels(4, 3)),
    Case("cross_entropy_ignore", lambda L, F, x, e: F.cross_entropy(x[0], e["t"], ignore_index=1), [(5, 3)],
         extra=lambda rng: {"t": np.array([0, 1, 2, 1, 2])}),
    Case("cross_entropy_weight", lambda L, F, x, e: F.cross_entropy(x[0], e["t"], weight=e["w"]), [(4, 3)],
         extra=lambda rng: {"t": rng.integers(0, 3, size=4), "w": rng.uniform(0.5, 2.0, size=3)}),
    Case("cross_entropy_weight_smooth_ignore",
         lambda L, F, x, e: F.cross_entropy(x[0], e["t"], weight=e["w"], label_smoothing=0.1, ignore_index=0),
         [(5, 3)], extra=lambda rng: {"t": np.array([0, 1, 2, 2, 1]), "w": rng.uniform(0.5, 2.0, size=3)}),
    Case("cross_entropy_probs", lambda L, F, x, e: F.cross_entropy(x[0], x[1]), [(3, 4), (3, 4)], [U, _probs]),
    Case("cross_entropy_probs_smooth_weight",
         lambda L, F, x, e: F.cross_entropy(x[0], x[1], weight=e["w"], label_smoothing=0.3, reduction="sum"),
         [(3, 4), (3, 4)], [U, _probs], extra=lambda rng: {"w": rng.uniform(0.5, 2.0, size=4)}),
    Case("cross_entropy_3d", lambda L, F, x, e: F.cross_entropy(x[0], e["t"]), [(2, 3, 2)], extra=labels(2, 3, (2, 2))),
    Case("cross_entropy_1d", lambda L, F, x, e: F.cross_entropy(x[0], e["t"]), [(4,)],
         extra=lambda rng: {"t": np.array(2)}),
    Case("mse_loss", lambda L, F, x, e: F.mse_loss(x[0], x[1]), [(3, 4), (3, 4)]),
    Case("mse_loss_sum", lambda L, F, x, e: F.mse_loss(x[0], x[1], reduction="sum"), [(3, 4), (3, 4)]),
    Case("mse_loss_none", lambda L, F, x, e: F.mse_loss(x[0], x[1], reduction="none"), [(2, 3), (2, 3)]),
    Case("bce_logits", lambda L, F, x, e: F.binary_cross_entropy_with_logits(x[0], x[1]), [(3, 4), (3, 4)],
         [uniform(-3, 3), uniform(0, 1)]),
    Case("bce_logits_weights",
         lambda L, F, x, e: F.binary_cross_entropy_with_logits(x[0], x[1], weight=e["w"], pos_weight=e["p"],
                                                                reduction="sum"),
         [(3, 4), (3, 4)], [uniform(-3, 3), uniform(0, 1)],
         extra=lambda rng: {"w": rng.uniform(0.5, 2, size=(4,)), "p": rng.uniform(0.5, 2, size=(4,))}),
    Case("bce_logits_none", lambda L, F, x, e: F.binary_cross_entropy_with_logits(x[0], x[1], reduction="none"),
         [(2, 3), (2, 3)], [uniform(-3, 3), uniform(0, 1)]),
    # ---- issue 13: rounding and pointwise math ----------------------------------------------------
    Case("round", lambda L, F, x, e: L.round(x[0] * 3) + x[0], [(2, 3)]),
    Case("round_decimals", lambda L, F, x, e: x[0].round(decimals=1) * x[0], [(2, 3)]),
    Case("floor", lambda L, F, x, e: L.floor(x[0] * 2) * x[0], [(2, 3)]),
    Case("ceil", lambda L, F, x, e: x[0].ceil() + x[0], [(2, 3)]),
    Case("trunc", lambda L, F, x, e: L.trunc(x[0] * 2) * x[0], [(2, 3)]),
    Case("sign", lambda L, F, x, e: x[0].sign() * x[0] + L.sign(x[0]), [(2, 3)], [away_from(0.0)]),
    Case("square", lambda L, F, x, e: x[0].square() + L.square(x[0]), [(2, 3)]),
    Case("rsqrt", lambda L, F, x, e: L.rsqrt(x[0]), [(2, 3)], [P]),
    Case("reciprocal", lambda L, F, x, e: x[0].reciprocal(), [(2, 3)], [away_from(0.0, gap=0.3)]),
    Case("log1p", lambda L, F, x, e: L.log1p(x[0]), [(2, 3)], [uniform(-0.5, 2.0)]),
    Case("expm1", lambda L, F, x, e: x[0].expm1(), [(2, 3)]),
    Case("log2", lambda L, F, x, e: L.log2(x[0]), [(2, 3)], [P]),
    Case("log10", lambda L, F, x, e: x[0].log10(), [(2, 3)], [P]),
    Case("erf", lambda L, F, x, e: L.erf(x[0]), [(2, 3)]),
    Case("atan2", lambda L, F, x, e: L.atan2(x[0], x[1]), [(2, 3), (3,)]),
    Case("atan2_method", lambda L, F, x, e: x[0].atan2(x[1]), [(2, 1), (1, 3)]),
    Case("hypot", lambda L, F, x, e: L.hypot(x[0], x[1]), [(2, 3), (2, 1)], [away_from(0.0), away_from(0.0)]),
    Case("clamp_min_fn", lambda L, F, x, e: L.clamp_min(x[0], 0.3), [(3, 4)], [away_from(0.3)]),
    Case("clamp_max_method", lambda L, F, x, e: x[0].clamp_max(-0.2), [(3, 4)], [away_from(-0.2)]),
    Case("masked_fill", lambda L, F, x, e: L.masked_fill(x[0], e["m"], 0.5), [(2, 3)],
         extra=lambda rng: {"m": np.array([[True, False, True]])}),
    Case("masked_fill_tensor_value", lambda L, F, x, e: x[0].masked_fill(e["m"], x[1]) * x[0], [(2, 3), ()],
         extra=lambda rng: {"m": np.array([[True, False, False], [False, False, True]])}),
    # ---- issue 13: cumulative and sorting ------------------------------------------------------------
    Case("cumsum", lambda L, F, x, e: x[0].cumsum(1), [(3, 4)]),
    Case("cumsum_dim0_3d", lambda L, F, x, e: L.cumsum(x[0], dim=0), [(3, 2, 2)]),
    Case("cumsum_neg_dim", lambda L, F, x, e: L.cumsum(x[0], -1), [(5,)]),
    Case("cumprod", lambda L, F, x, e: L.cumprod(x[0], 1), [(3, 4)]),
    Case("cumprod_dim0", lambda L, F, x, e: x[0].cumprod(dim=0), [(4, 3)], [uniform(0.5, 1.5)]),
    Case("cumprod_zeros", lambda L, F, x, e: L.cumprod(x[0], -1), [(3, 4)], [with_zeros]),
    Case("cumprod_zeros_dim0", lambda L, F, x, e: L.cumprod(x[0].t(), 0), [(3, 4)], [with_zeros]),
    Case("sort", lambda L, F, x, e: L.sort(x[0], dim=1).values, [(3, 4)], [distinct]),
    Case("sort_descending_dim0", lambda L, F, x, e: x[0].sort(0, descending=True)[0], [(3, 2, 2)], [distinct]),
    Case("sort_then_mix", lambda L, F, x, e: x[0].sort()[0] * x[0], [(2, 4)], [distinct]),
    Case("topk", lambda L, F, x, e: L.topk(x[0], 2).values, [(3, 5)], [distinct]),
    Case("topk_smallest_dim0", lambda L, F, x, e: x[0].topk(2, dim=0, largest=False)[0], [(4, 3)], [distinct]),
    # ---- issue 13: reordering and replicating -------------------------------------------------------
    Case("flip", lambda L, F, x, e: x[0].flip(0, 2) * x[1], [(2, 3, 4), (4,)]),
    Case("flip_fn", lambda L, F, x, e: L.flip(x[0], (1,)), [(2, 3)]),
    Case("roll", lambda L, F, x, e: L.roll(x[0], 1, 0), [(3, 2)]),
    Case("roll_dims", lambda L, F, x, e: x[0].roll((1, -2), (0, 1)), [(3, 4)]),
    Case("roll_flat", lambda L, F, x, e: L.roll(x[0], 5), [(2, 3)]),
    Case("repeat", lambda L, F, x, e: x[0].repeat(2, 1, 3), [(2, 3)]),
    Case("repeat_tuple", lambda L, F, x, e: x[0].repeat((3, 2)), [(2,)]),
    Case("tile", lambda L, F, x, e: L.tile(x[0], (2,)), [(2, 3)]),
    Case("tile_method", lambda L, F, x, e: x[0].tile(2, 1, 2), [(3,)]),
    Case("expand_as", lambda L, F, x, e: x[0].expand_as(x[1]) * x[1], [(3, 1), (2, 3, 4)]),
    # ---- issue 13: diagonals and triangles ------------------------------------------------------------
    Case("triu", lambda L, F, x, e: x[0].triu(), [(3, 4)]),
    Case("triu_offset", lambda L, F, x, e: L.triu(x[0], diagonal=1), [(4, 3)]),
    Case("tril_batched", lambda L, F, x, e: L.tril(x[0], -1), [(2, 3, 3)]),
    Case("diag_vector", lambda L, F, x, e: L.diag(x[0]), [(3,)]),
    Case("diag_vector_offset", lambda L, F, x, e: L.diag(x[0], 1) + L.diag(x[0], -1).t(), [(3,)]),
    Case("diag_matrix", lambda L, F, x, e: x[0].diag(-1), [(3, 4)]),
    Case("diagonal_dims", lambda L, F, x, e: L.diagonal(x[0], 1, 0, 2), [(3, 2, 4)]),
    Case("trace", lambda L, F, x, e: x[0].trace(), [(3, 3)]),
    Case("trace_rect", lambda L, F, x, e: L.trace(x[0]), [(2, 4)]),
    # ---- issue 13: einsum, outer, norms ---------------------------------------------------------------
    Case("einsum_mm", lambda L, F, x, e: L.einsum("ij,jk->ik", x[0], x[1]), [(2, 3), (3, 4)]),
    Case("einsum_bmm", lambda L, F, x, e: L.einsum("bij,bjk->bik", x[0], x[1]), [(2, 2, 3), (2, 3, 2)]),
    Case("einsum_dot", lambda L, F, x, e: L.einsum("i,i->", x[0], x[1]), [(4,), (4,)]),
    Case("einsum_transpose", lambda L, F, x, e: L.einsum("ij->ji", x[0]), [(2, 3)]),
    Case("einsum_diag", lambda L, F, x, e: L.einsum("ii->i", x[0]), [(3, 3)]),
    Case("einsum_trace", lambda L, F, x, e: L.einsum("ii", x[0]), [(3, 3)]),
    Case("einsum_rowdot", lambda L, F, x, e: L.einsum("bi,bi->b", x[0], x[1]), [(3, 4), (3, 4)]),
    Case("einsum_outer", lambda L, F, x, e: L.einsum("i,j->ij", x[0], x[1]), [(3,), (2,)]),
    Case("einsum_implicit", lambda L, F, x, e: L.einsum("ij,jk", x[0], x[1]), [(2, 3), (3, 2)]),
    Case("einsum_ellipsis", lambda L, F, x, e: L.einsum("...ij,...jk->...ik", x[0], x[1]), [(2, 1, 2, 3), (3, 3, 2)]),
    Case("einsum_chain", lambda L, F, x, e: L.einsum("ij,jk,kl->il", [x[0], x[1], x[2]]), [(2, 3), (3, 4), (4, 2)]),
    Case("einsum_sum_out", lambda L, F, x, e: L.einsum("bij,jk->bk", x[0], x[1]), [(2, 3, 4), (4, 2)]),
    Case("outer", lambda L, F, x, e: L.outer(x[0], x[1]), [(3,), (4,)]),
    Case("outer_method", lambda L, F, x, e: x[0].outer(x[1]), [(2,), (3,)]),
    Case("norm", lambda L, F, x, e: x[0].norm(), [(3, 4)]),
    Case("norm_p3_dim", lambda L, F, x, e: L.norm(x[0], p=3, dim=1), [(3, 4)]),
    Case("norm_p1_keepdim", lambda L, F, x, e: x[0].norm(1, dim=(0, 2), keepdim=True), [(2, 3, 2)], [away_from(0.0)]),
    Case("linalg_norm", lambda L, F, x, e: L.linalg.norm(x[0]), [(2, 3, 2)]),
    Case("linalg_norm_vector_ord", lambda L, F, x, e: L.linalg.norm(x[0], ord=3), [(5,)]),
    Case("linalg_norm_dim", lambda L, F, x, e: L.linalg.norm(x[0], dim=-1, keepdim=True), [(3, 4)]),
    Case("linalg_norm_fro", lambda L, F, x, e: L.linalg.norm(x[0], ord="fro", dim=(0, 2)), [(2, 3, 2)]),
    Case("linalg_norm_matrix_1", lambda L, F, x, e: L.linalg.norm(x[0], ord=1), [(3, 4)], [P]),
    Case("linalg_matrix_norm_inf", lambda L, F, x, e: L.linalg.matrix_norm(x[0], ord=-INF), [(2, 3, 4)], [P]),
    Case("linalg_vector_norm_inf", lambda L, F, x, e: L.linalg.vector_norm(x[0], ord=INF, dim=1), [(3, 4)]),
    Case("linalg_vector_norm_p", lambda L, F, x, e: L.linalg.vector_norm(x[0], ord=1.5, dim=(0, 1)), [(2, 3)],
         [away_from(0.0)]),
    Case("dist", lambda L, F, x, e: L.dist(x[0], x[1]), [(2, 3), (3,)]),
    Case("dist_p3", lambda L, F, x, e: x[0].dist(x[1], p=3), [(4,), (4,)]),
    # ---- more activations (nn.functional) -------------------------------------------------------
    Case("hardtanh", lambda L, F, x, e: F.hardtanh(x[0]), [(3, 4)], [away_from(-1.0, 1.0)]),
    Case("hardtanh_range", lambda L, F, x, e: F.hardtanh(x[0], -0.5, 1.5), [(3, 4)], [away_from(-0.5, 1.5)]),
    Case("relu6", lambda L, F, x, e: F.relu6(x[0] * 4), [(3, 4)], [away_from(0.0, 1.5, low=-3, high=3)]),
    Case("elu", lambda L, F, x, e: F.elu(x[0]), [(3, 4)], [away_from(0.0)]),
    Case("elu_alpha", lambda L, F, x, e: F.elu(x[0], alpha=0.5), [(3, 4)], [away_from(0.0)]),
    Case("selu", lambda L, F, x, e: F.selu(x[0]), [(3, 4)], [away_from(0.0)]),
    Case("celu", lambda L, F, x, e: F.celu(x[0], alpha=2.0), [(3, 4)], [away_from(0.0)]),
    Case("silu", lambda L, F, x, e: F.silu(x[0]), [(3, 4)], [uniform(-6, 6)]),
    Case("mish", lambda L, F, x, e: F.mish(x[0]), [(3, 4)], [uniform(-6, 6)]),
    Case("hardswish", lambda L, F, x, e: F.hardswish(x[0]), [(3, 5)], [away_from(-3.0, 3.0, low=-5, high=5)]),
    Case("hardsigmoid", lambda L, F, x, e: F.hardsigmoid(x[0]), [(3, 5)], [away_from(-3.0, 3.0, low=-5, high=5)]),
    Case("softsign", lambda L, F, x, e: F.softsign(x[0]), [(3, 4)], [away_from(0.0, low=-4, high=4)]),
    Case("tanhshrink", lambda L, F, x, e: F.tanhshrink(x[0]), [(3, 4)]),
    Case("logsigmoid", lambda L, F, x, e: F.logsigmoid(x[0]), [(3, 4)], [uniform(-8, 8)]),
    Case("prelu_shared", lambda L, F, x, e: F.prelu(x[0], x[1]), [(3, 4), (1,)], [away_from(0.0), P]),
    Case("prelu_channels", lambda L, F, x, e: F.prelu(x[0], x[1]), [(2, 3, 4), (3,)], [away_from(0.0), P]),
    Case("prelu_1d", lambda L, F, x, e: F.prelu(x[0], x[1]), [(5,), (1,)], [away_from(0.0), P]),
    Case("glu", lambda L, F, x, e: F.glu(x[0]), [(3, 4)]),
    Case("glu_dim0", lambda L, F, x, e: F.glu(x[0], dim=0), [(4, 3)]),
    # ---- more losses ----------------------------------------------------------------------------
    Case("bce", lambda L, F, x, e: F.binary_cross_entropy(x[0], x[1]), [(3, 4), (3, 4)],
         [uniform(0.05, 0.95), uniform(0, 1)]),
    Case("bce_weight_sum", lambda L, F, x, e: F.binary_cross_entropy(x[0], x[1], weight=e["w"], reduction="sum"),
         [(3, 4), (3, 4)], [uniform(0.05, 0.95), uniform(0, 1)], extra=lambda rng: {"w": rng.uniform(0.5, 2, size=(4,))}),
    Case("bce_none", lambda L, F, x, e: F.binary_cross_entropy(x[0], x[1], reduction="none"), [(2, 3), (2, 3)],
         [uniform(0.05, 0.95), uniform(0, 1)]),
    Case("l1_loss", lambda L, F, x, e: F.l1_loss(x[0], x[1]), [(3, 4), (3, 4)], [U, U]),
    Case("l1_loss_sum_none", lambda L, F, x, e: F.l1_loss(x[0], x[1], reduction="none") * 2 + F.l1_loss(x[0], x[1], reduction="sum"),
         [(3, 4), (3, 4)]),
    Case("smooth_l1", lambda L, F, x, e: F.smooth_l1_loss(x[0], x[1]), [(4, 5), (4, 5)]),
    Case("smooth_l1_beta_none", lambda L, F, x, e: F.smooth_l1_loss(x[0], x[1], reduction="none", beta=0.5),
         [(3, 4), (3, 4)]),
    Case("smooth_l1_beta0_sum", lambda L, F, x, e: F.smooth_l1_loss(x[0], x[1], reduction="sum", beta=0.0),
         [(3, 4), (3, 4)]),
    Case("huber", lambda L, F, x, e: F.huber_loss(x[0], x[1]), [(4, 5), (4, 5)]),
    Case("huber_delta_sum", lambda L, F, x, e: F.huber_loss(x[0], x[1], reduction="sum", delta=0.7), [(3, 4), (3, 4)]),
    Case("kl_div_batchmean", lambda L, F, x, e: F.kl_div(F.log_softmax(x[0], 1), x[1], reduction="batchmean"),
         [(3, 4), (3, 4)], [U, _probs]),
    Case("kl_div_sum", lambda L, F, x, e: F.kl_div(x[0], x[1], reduction="sum"), [(3, 4), (3, 4)], [U, P]),
    Case("kl_div_log_target_none", lambda L, F, x, e: F.kl_div(x[0], x[1], reduction="none", log_target=True),
         [(3, 4), (3, 4)]),
    Case("gaussian_nll", lambda L, F, x, e: F.gaussian_nll_loss(x[0], x[1], x[2]), [(3, 4), (3, 4), (3, 4)], [U, U, P]),
    Case("gaussian_nll_row_var_full", lambda L, F, x, e: F.gaussian_nll_loss(x[0], x[1], x[2], full=True, reduction="sum"),
         [(3, 4), (3, 4), (3,)], [U, U, P]),
    Case("gaussian_nll_bcast_none", lambda L, F, x, e: F.gaussian_nll_loss(x[0], x[1], x[2], reduction="none"),
         [(2, 3, 4), (2, 3, 4), (2, 1, 4)], [U, U, P]),
    # ---- compositions -------------------------------------------------------------------------
    Case("mlp", lambda L, F, x, e: F.cross_entropy(F.linear(L.tanh(F.linear(x[0], x[1], x[2])), x[3]), e["t"]),
         [(4, 3), (5, 3), (5,), (2, 5)], extra=labels(4, 2)),
    Case("reuse", lambda L, F, x, e: (x[0] * x[0] + x[0].exp() * x[1]).sum(0) / x[0].sum(), [(3, 2), (2,)],
         [P, U]),
]


def pytest_generate_tests(metafunc):
    if "op_case" in metafunc.fixturenames:
        metafunc.parametrize("op_case", OP_CASES, ids=[c.name for c in OP_CASES])
