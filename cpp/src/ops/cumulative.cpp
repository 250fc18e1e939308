// cumsum and cumprod along one dim. Integer and bool inputs give Int64, as in PyTorch.
#include <vector>

#include "../kernels/scan.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

struct Span {
  int64_t outer = 1, n = 1, inner = 1;
};

Span span_around(const Shape& shape, int64_t dim) {
  Span s;
  if (shape.empty()) return s;
  for (int64_t d = 0; d < dim; ++d) s.outer *= shape[d];
  s.n = shape[dim];
  for (int64_t d = dim + 1; d < static_cast<int64_t>(shape.size()); ++d) s.inner *= shape[d];
  return s;
}

template <bool kProduct>
Tensor scan(const Tensor& x0, int64_t dim) {
  const char* op = kProduct ? "cumprod" : "cumsum";
  Tensor x = is_floating(x0.dtype()) ? x0.contiguous() : cast_raw(x0, DType::Int64).contiguous();
  Span s = span_around(x.shape(), dim);
  Tensor out = make_tensor(x.shape(), x.dtype());
  BP_DISPATCH_NUMERIC(x.dtype(), op, {
    if constexpr (kProduct)
      kernels::scan_middle<scalar_t>(x.data<scalar_t>(), out.data<scalar_t>(), s.outer, s.n, s.inner, scalar_t(1),
                                     [](auto a, auto b) { return a * b; });
    else
      kernels::scan_middle<scalar_t>(x.data<scalar_t>(), out.data<scalar_t>(), s.outer, s.n, s.inner, scalar_t(0),
                                     [](auto a, auto b) { return a + b; });
  });
  return out;
}

// sum_{j >= k} g_j along dim: the adjoint of a running sum.
Tensor reverse_cumsum(const Tensor& g, int64_t dim) { return flip(cumsum(flip(g, {dim}), dim), {dim}); }

struct Cumsum : OpBase {
  static constexpr const char* kName = "CumsumBackward0";
  int64_t dim_;
  explicit Cumsum(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& x) {
    dim_ = wrap_dim(dim_, x.dim(), "cumsum");
    return scan<false>(x, dim_);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    if (g.dim() == 0) return {g};
    return {reverse_cumsum(g, dim_)};
  }
};

struct Cumprod : OpBase {
  static constexpr const char* kName = "CumprodBackward0";
  int64_t dim_;
  int x_ = -1;
  explicit Cumprod(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& x) {
    dim_ = wrap_dim(dim_, x.dim(), "cumprod");
    x_ = save(x);
    return scan<true>(x, dim_);
  }
  // With zeros and a recorded backward (create_graph): dL/dx_k = prod_{i < k} x_i * r_k, where
  // r_k = sum_{j >= k} g_j prod_{k < i <= j} x_i runs backwards as r_k = g_k + x_{k+1} r_{k+1}.
  // No division and no constant mask, so every branch keeps its dependence on x (the masked
  // first-order form below drops it after the first zero). n slices of ops: O(n) work in all.
  Tensor recorded_zero_backward(const Tensor& g, const Tensor& x) const {
    int64_t n = x.shape()[dim_];
    if (n == 1) return g;
    std::vector<Tensor> r(n);
    r[n - 1] = narrow(g, dim_, n - 1, 1);
    for (int64_t k = n - 2; k >= 0; --k) r[k] = narrow(g, dim_, k, 1) + narrow(x, dim_, k + 1, 1) * r[k + 1];
    Shape one_shape = x.shape();
    one_shape[dim_] = 1;
    Tensor before_k = cat({ones(one_shape, x.dtype()), cumprod(narrow(x, dim_, 0, n - 1), dim_)}, dim_);
    return before_k * cat(r, dim_);
  }

  // dL/dx_k = sum_{j >= k} g_j * prod_{i <= j, i != k} x_i. Before the first zero of a slice that
  // is reverse_cumsum(g * out) / x_k; after it every term holds the zero, so 0; at the first zero
  // itself it is reverse_cumsum(g * cumprod(x with that zero set to 1)). The output is recomputed
  // from x rather than saved, so that a recorded backward sees its dependence on x.
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor x = saved(x_);
    if (x.dim() == 0) return {g};
    Tensor out = cumprod(x, dim_);
    Tensor zero = zeros({}, x.dtype()), one = ones({}, x.dtype());
    Tensor is_zero = eq(x, zero);
    bool has_zero;
    {
      NoGradGuard no_grad;
      has_zero = any(is_zero).item() != 0.0;
    }
    if (!has_zero) return {reverse_cumsum(g * out, dim_) / x};
    if (is_grad_enabled()) return {recorded_zero_backward(g, x)};
    Tensor zeros_so_far, before, first;
    {
      NoGradGuard no_grad;
      zeros_so_far = cumsum(is_zero.to(DType::Int64), dim_);
      Tensor none = zeros({}, DType::Int64), once = ones({}, DType::Int64);
      before = eq(zeros_so_far, none);
      first = logical_and(is_zero, eq(zeros_so_far, once));
    }
    Tensor safe_x = where(before, x, one);
    Tensor ahead = reverse_cumsum(g * out, dim_) / safe_x;
    Tensor at_zero = reverse_cumsum(g * cumprod(where(first, one, x), dim_), dim_);
    return {where(before, ahead, where(first, at_zero, zero))};
  }
};

}  // namespace

Tensor cumsum(const Tensor& x, int64_t dim) { return record(Cumsum(dim), x); }
Tensor cumprod(const Tensor& x, int64_t dim) { return record(Cumprod(dim), x); }

}  // namespace backprop
