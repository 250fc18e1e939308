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

}  // namespace backprop
