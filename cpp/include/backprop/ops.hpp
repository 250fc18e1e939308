#pragma once
/// \file ops.hpp
/// Differentiable operations as free functions. Binary arithmetic broadcasts like NumPy.
/// Mixing Float32 and Float64 throws TypeError; Int64 and Bool promote to the floating operand.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backprop/tensor.hpp"

namespace backprop {

// ---- arithmetic (broadcasting) ---------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
/// `x + s` and `x * s` for a floating `x` and a plain number (rounded to x's dtype): the same
/// results and gradients as add/mul with a 0-d tensor, without making one. TypeError otherwise.
Tensor add_scalar(const Tensor& x, double s);
Tensor mul_scalar(const Tensor& x, double s);
/// True division; integer operands give Float32.
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& base, const Tensor& exponent);
Tensor pow(const Tensor& base, double exponent);
Tensor pow(double base, const Tensor& exponent);
Tensor neg(const Tensor& a);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
/// Elements of `a` where `condition` is true, of `b` elsewhere; all three broadcast.
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(const Tensor& a, double b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(const Tensor& a, double b);
Tensor operator/(double a, const Tensor& b);

// ---- unary math ------------------------------------------------------------------------------
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
/// Limits to [min, max]; either bound may be absent.
Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);

// ---- activations -----------------------------------------------------------------------------
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
/// approximate is "none" (erf form) or "tanh".
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// min(max(x, min_val), max_val); ValueError when min_val > max_val. relu6 is hardtanh(x, 0, 6).
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
Tensor relu6(const Tensor& x);
/// x for x > 0, alpha * (exp(x) - 1) otherwise.
Tensor elu(const Tensor& x, double alpha = 1.0);
/// scale * elu(x, alpha) with PyTorch's fixed alpha and scale.
Tensor selu(const Tensor& x);
/// max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); alpha must not be 0.
Tensor celu(const Tensor& x, double alpha = 1.0);
/// x * sigmoid(x) (swish).
Tensor silu(const Tensor& x);
/// x * tanh(softplus(x)).
Tensor mish(const Tensor& x);
/// x * relu6(x + 3) / 6.
Tensor hardswish(const Tensor& x);
/// relu6(x + 3) / 6.
Tensor hardsigmoid(const Tensor& x);
/// x / (1 + |x|).
Tensor softsign(const Tensor& x);
/// x - tanh(x).
Tensor tanhshrink(const Tensor& x);
/// log(sigmoid(x)), computed without overflow.
Tensor logsigmoid(const Tensor& x);
/// x where x > 0, weight * x elsewhere; weight holds one slope or one per channel (dim 1).
/// Both x and weight get gradients.
Tensor prelu(const Tensor& x, const Tensor& weight);
/// a * sigmoid(b), where a and b are the two halves of x along `dim` (its size must be even).
Tensor glu(const Tensor& x, int64_t dim = -1);

// ---- in-place activations (PyTorch's inplace=True) ---------------------------------------------
/// Each writes its result into `x` and returns it. Like every in-place write they raise on a leaf
/// that requires grad (outside no_grad) and bump x's version, so a graph that saved x before
/// raises in backward; when recorded, x's history continues from the activation.
Tensor& relu_(Tensor& x);
Tensor& leaky_relu_(Tensor& x, double negative_slope = 0.01);
Tensor& hardtanh_(Tensor& x, double min_val = -1.0, double max_val = 1.0);
Tensor& relu6_(Tensor& x);
Tensor& elu_(Tensor& x, double alpha = 1.0);
Tensor& selu_(Tensor& x);
Tensor& celu_(Tensor& x, double alpha = 1.0);
Tensor& silu_(Tensor& x);
Tensor& mish_(Tensor& x);
Tensor& hardswish_(Tensor& x);
Tensor& hardsigmoid_(Tensor& x);

// ---- comparisons (Bool results, no gradient) --------------------------------------------------
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);

// ---- linear algebra --------------------------------------------------------------------------
/// NumPy matmul semantics: 1-D, 2-D and batched operands whose batch dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
/// x @ weight^T + bias with weight of shape (out, in); bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
/// activation(linear(x, weight, bias)) as one fused op; activation is "relu", "tanh" or "sigmoid".
Tensor linear_activation(const Tensor& x, const Tensor& weight, const Tensor& bias, const std::string& activation);

// ---- reductions ------------------------------------------------------------------------------
/// An empty `dims` reduces every dimension.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
/// Largest element; the gradient is shared evenly between ties.
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
/// Largest values along `dim` and their indices (Int64).
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
/// Index of the largest element (of the flattened tensor when dim is absent).
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
/// Variance with Bessel's correction `correction` (1 = unbiased).
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1.0,
           bool keepdim = false);
/// Standard deviation: the square root of var().
Tensor std(const Tensor& x, const std::vector<int64_t>& dims = {}, double correction = 1.0,
           bool keepdim = false);
/// Whether any (all) elements along `dims` are non-zero; Bool results, no gradient.
Tensor any(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor all(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
/// Sums `x` down to `shape`, undoing broadcasting.
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- shape and views -------------------------------------------------------------------------
/// A `-1` in `shape` is inferred. Views when the strides allow, copies otherwise.
Tensor reshape(const Tensor& x, const Shape& shape);
/// Like reshape but never copies; throws when the strides do not allow a view.
Tensor view(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, int64_t dim);
/// Removes each of `dims` that has size 1 (others stay, as in PyTorch).
Tensor squeeze(const Tensor& x, const std::vector<int64_t>& dims);
Tensor unsqueeze(const Tensor& x, int64_t dim);
/// A `-1` keeps the size; new leading dims may be added.
Tensor expand(const Tensor& x, const Shape& shape);
/// Elements start, start+step, ... below end along `dim` (a view).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
/// Removes `dim` by taking `index` (a view).
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// The slices of `x` along `dim`, each without that dim (views, one graph node for all).
std::vector<Tensor> unbind(const Tensor& x, int64_t dim = 0);
/// Pieces of `split_size` along `dim` (the last may be smaller); views, one graph node for all.
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
/// Pieces of the given sizes along `dim`, which must add up to its size.
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t dim = 0);
std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t dim = 0);
/// At most `chunks` pieces of equal size along `dim` (the last may be smaller).
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
/// Rows of `x` along `dim` chosen by the Int64 vector `index`; the gradient scatter-adds.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// Values of `x` along `dim` at `index` (same rank as x).
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// Int64 coordinates of the non-zero elements, shape (count, ndim).
Tensor nonzero(const Tensor& x);
/// A copy of `x` with `values` added (or written) at `indices` (one index tensor per leading
/// dim; they broadcast).
Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values,
                 bool accumulate = false);

// ---- softmax and losses ----------------------------------------------------------------------
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
/// Fused log-softmax and negative log-likelihood. `target` holds class indices (Int64) of shape
/// (N) for input (N, C), or class probabilities of the input's shape. reduction: "mean", "sum"
/// or "none". Targets equal to ignore_index contribute nothing.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                     double label_smoothing = 0.0, int64_t ignore_index = -100,
                     const Tensor& weight = Tensor());
/// Negative log-likelihood of log-probabilities `input` (N, C) at Int64 `target` (N).
Tensor nll_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                int64_t ignore_index = -100, const Tensor& weight = Tensor());
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const std::string& reduction = "mean",
                                        const Tensor& weight = Tensor(),
                                        const Tensor& pos_weight = Tensor());
/// Binary cross-entropy of probabilities `input` (each in [0, 1]) against `target` of the same
/// shape; the logs are clamped at -100 as in PyTorch, so probabilities 0 and 1 give finite
/// losses. `weight` (optional) broadcasts to the target's shape.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                            const std::string& reduction = "mean");
/// |input - target|, broadcasting.
Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
/// 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target); beta = 0 is l1_loss.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                      double beta = 1.0);
/// 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere; delta must be positive.
Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                  double delta = 1.0);
/// Kullback-Leibler divergence of log-probabilities `input` from `target` (probabilities, or
/// log-probabilities with log_target). reduction: "mean" (over every element), "batchmean"
/// (the sum over the first dim's size: the mathematical KL divergence), "sum" or "none".
Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
              bool log_target = false);
/// 0.5 (log v + (input - target)^2 / v) with v = max(var, eps) (+ 0.5 log(2 pi) when full). var
/// has the input's shape, or one dim fewer or of size 1 (one variance shared along it); the
/// clamp does not stop var's gradient, as in PyTorch.
Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, bool full = false,
                         double eps = 1e-6, const std::string& reduction = "mean");
Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, double var, bool full = false,
                         double eps = 1e-6, const std::string& reduction = "mean");

// ---- regularisation and normalisation ---------------------------------------------------------
/// Zeroes elements with probability p and scales the rest by 1/(1-p) when `training`.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);
/// dropout written into `x` (nothing is written when not training or p == 0).
Tensor& dropout_(Tensor& x, double p = 0.5, bool training = true);
/// Normalises over the trailing dims `normalized_shape`; weight and bias may be undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// ---- more pointwise math ---------------------------------------------------------------------
/// Rounds half to even at `decimals` decimal places (negative: to tens, hundreds, ...). round,
/// floor, ceil, trunc and sign have a zero gradient; on Int64 they keep the dtype (round, floor,
/// ceil and trunc are the identity there). sign of NaN is 0, as in PyTorch.
Tensor round(const Tensor& x, int64_t decimals = 0);
Tensor floor(const Tensor& x);
Tensor ceil(const Tensor& x);
Tensor trunc(const Tensor& x);
Tensor sign(const Tensor& x);
/// x * x, in x's dtype (Bool gives Int64).
Tensor square(const Tensor& x);
/// These compute in floating point: Int64 and Bool inputs give Float32.
Tensor rsqrt(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor log2(const Tensor& x);
Tensor log10(const Tensor& x);
Tensor erf(const Tensor& x);
/// The angle of (x, y), broadcasting like arithmetic.
Tensor atan2(const Tensor& y, const Tensor& x);
/// sqrt(a^2 + b^2) without overflow in the squares.
Tensor hypot(const Tensor& a, const Tensor& b);
Tensor clamp_min(const Tensor& x, double min);
Tensor clamp_max(const Tensor& x, double max);
/// `x` with `value` (a number or a 0-d tensor, which receives a gradient) where the Bool `mask`,
/// broadcast to x's shape, is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);

// ---- cumulative, sorting ---------------------------------------------------------------------
/// Running sum / product along `dim`; Int64 and Bool inputs give Int64. cumprod's gradient is
/// exact when the input holds zeros.
Tensor cumsum(const Tensor& x, int64_t dim);
Tensor cumprod(const Tensor& x, int64_t dim);
/// Values along `dim` in order and the Int64 positions they came from. NaN sorts above every
/// number; equal values keep their input order (a stable sort) in either direction.
std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
/// The k largest (or smallest) values along `dim` and their positions, always in sorted order.
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true,
                               bool sorted = true);

// ---- reordering and replicating copies -------------------------------------------------------
Tensor flip(const Tensor& x, const std::vector<int64_t>& dims);
/// Shifts elements along `dims` by `shifts`, wrapping around; no dims rolls the flattened tensor.
Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims = {});
/// Copies of `x` laid end to end, `repeats[i]` times along dim i (extra leading counts add dims).
Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats);
/// repeat() with missing leading counts taken as 1.
Tensor tile(const Tensor& x, const std::vector<int64_t>& dims);

// ---- diagonals and triangles -----------------------------------------------------------------
/// The diagonal (offset above the main one when positive) of the dims dim1, dim2, moved to the
/// end; a copy.
Tensor diagonal(const Tensor& x, int64_t offset = 0, int64_t dim1 = 0, int64_t dim2 = 1);
/// A 1-D tensor's square matrix with it on diagonal `diagonal`, or a 2-D tensor's diagonal.
Tensor diag(const Tensor& x, int64_t diagonal = 0);
Tensor trace(const Tensor& x);
/// The upper (lower) triangle of the last two dims from `diagonal` on; the rest is zero.
Tensor triu(const Tensor& x, int64_t diagonal = 0);
Tensor tril(const Tensor& x, int64_t diagonal = 0);

// ---- einsum and norms ------------------------------------------------------------------------
/// Einstein summation, e.g. "bij,bjk->bik". Supports '...', implicit output (the letters seen
/// once, in order), repeated letters in one operand (a diagonal), size-1 broadcasting and any
/// number of operands (contracted left to right as batched matmuls). ValueError on bad subscripts.
Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands);
/// a[i] * b[j] for 1-D a and b.
Tensor outer(const Tensor& a, const Tensor& b);
/// (sum |x|^ord)^(1/ord) over `dims` (all when empty); ord inf/-inf give max/min |x|, 0 the
/// count of non-zeros. The gradient is zero where the norm is zero. Floating inputs only.
Tensor vector_norm(const Tensor& x, double ord = 2.0, const std::vector<int64_t>& dims = {},
                   bool keepdim = false);
/// Matrix norms over the two `dims`: "fro", or ord 1, -1, inf, -inf (column / row sums of |x|).
/// "nuc", 2 and -2 need singular values and throw ValueError.
Tensor matrix_norm(const Tensor& x, const std::string& ord = "fro",
                   const std::vector<int64_t>& dims = {-2, -1}, bool keepdim = false);
Tensor matrix_norm(const Tensor& x, double ord, const std::vector<int64_t>& dims = {-2, -1},
                   bool keepdim = false);
/// PyTorch's linalg.norm: a vector norm over one dim (or the flattened tensor when neither ord
/// nor dim is given), a matrix norm over two dims (or a 2-D input when only ord is given).
Tensor linalg_norm(const Tensor& x, std::optional<double> ord = std::nullopt,
                   const std::optional<std::vector<int64_t>>& dim = std::nullopt, bool keepdim = false);
Tensor linalg_norm(const Tensor& x, const std::string& ord,
                   const std::optional<std::vector<int64_t>>& dim = std::nullopt, bool keepdim = false);
/// vector_norm with PyTorch's norm() argument names (p = 2 is the Frobenius norm of any shape).
Tensor norm(const Tensor& x, double p = 2.0, const std::vector<int64_t>& dims = {}, bool keepdim = false);
/// The p-norm of a - b (broadcast).
Tensor dist(const Tensor& a, const Tensor& b, double p = 2.0);

}  // namespace backprop
