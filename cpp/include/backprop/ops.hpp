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

// ---- regularisation and normalisation ---------------------------------------------------------
/// Zeroes elements with probability p and scales the rest by 1/(1-p) when `training`.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);
/// Normalises over the trailing dims `normalized_shape`; weight and bias may be undefined.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace backprop
