// Vector and matrix norms (linalg.vector_norm, linalg.matrix_norm, linalg.norm, norm, dist) and
// outer. Only the p-norm has a node of its own: its gradient is zero where the norm is zero (the
// composite formula would give NaN there); the others are compositions of abs, sum, amax, amin.
#include <algorithm>
#include <cmath>
#include <limits>

#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

void check_floating(const Tensor& x, const char* op) {
  if (!is_floating(x.dtype()))
    throw TypeError(std::string(op) + ": expected a floating point tensor as input, got " + dtype_name(x.dtype()) +
                    "; convert with .float() or .double() first");
}

// The reduced dims, wrapped and sorted; empty means all.
std::vector<int64_t> norm_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  if (dims.empty())
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw ShapeError(std::string(op) + ": a dimension appears more than once in dim");
  if (ndim == 0) out.clear();
  return out;
}

struct PNorm : OpBase {
  static constexpr const char* kName = "LinalgVectorNormBackward0";
  double p_;
  std::vector<int64_t> dims_;
  bool keepdim_;
  Shape keep_shape_;
  int x_ = -1;
  PNorm(double p, std::vector<int64_t> dims, bool keepdim) : p_(p), dims_(std::move(dims)), keepdim_(keepdim) {}
  Tensor forward(const Tensor& x) {
    x_ = save(x);
    keep_shape_ = x.shape();
    for (int64_t d : dims_) keep_shape_[d] = 1;
    return compute(x, dims_, keepdim_);
  }
  Tensor compute(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) const {
    if (p_ == 1.0) return sum(abs(x), dims, keepdim);
    if (p_ == 2.0) return sqrt(sum(x * x, dims, keepdim));
    return pow(sum(pow(abs(x), p_), dims, keepdim), 1.0 / p_);
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor x = saved(x_);
    Tensor gk = reshape(g, keep_shape_);
    if (p_ == 1.0) return {gk * sign(x)};
    Tensor norm = compute(x, dims_, true);
    Tensor zero = zeros({}, x.dtype());
    Tensor is_zero = eq(norm, zero);
    // Dividing by 1 where the norm is 0 keeps the unused branch of where() finite.
    Tensor safe = where(is_zero, ones({}, x.dtype()), norm);
    Tensor ratio = p_ == 2.0 ? x / safe : sign(x) * pow(abs(x), p_ - 1.0) / pow(safe, p_ - 1.0);
    return {where(is_zero, zero, ratio) * gk};
  }
};

}  // namespace

Tensor vector_norm(const Tensor& x, double ord, const std::vector<int64_t>& dims, bool keepdim) {
  check_floating(x, "linalg.vector_norm");
  std::vector<int64_t> d = norm_dims(dims, x.dim(), "linalg.vector_norm");
  double inf = std::numeric_limits<double>::infinity();
  if (ord == inf) return amax(abs(x), d, keepdim);
  if (ord == -inf) return amin(abs(x), d, keepdim);
  if (ord == 0.0) {
    NoGradGuard no_grad;
    return sum(ne(x, zeros({}, x.dtype())).to(x.dtype()), d, keepdim);
  }
  if (std::isnan(ord)) throw ValueError("linalg.vector_norm: ord must be a number, got nan");
  return record(PNorm(ord, d, keepdim), x);
}

Tensor matrix_norm(const Tensor& x, const std::string& ord, const std::vector<int64_t>& dims, bool keepdim) {
  check_floating(x, "linalg.matrix_norm");
  if (dims.size() != 2)
    throw ShapeError("linalg.matrix_norm: dim must name exactly 2 dims, got " + std::to_string(dims.size()));
  if (x.dim() < 2)
    throw ShapeError("linalg.matrix_norm: expected a tensor with at least 2 dims, got shape " + shape_str(x.shape()));
  if (ord == "fro") return vector_norm(x, 2.0, dims, keepdim);
  if (ord == "nuc")
    throw ValueError("linalg.matrix_norm: ord='nuc' needs singular values, which backprop does not compute; "
                     "use ord='fro', 1, -1, inf or -inf");
  throw ValueError("linalg.matrix_norm: ord must be 'fro' or 'nuc' as a string, got '" + ord + "'");
}

Tensor matrix_norm(const Tensor& x, double ord, const std::vector<int64_t>& dims, bool keepdim) {
  check_floating(x, "linalg.matrix_norm");
  if (dims.size() != 2)
    throw ShapeError("linalg.matrix_norm: dim must name exactly 2 dims, got " + std::to_string(dims.size()));
  if (x.dim() < 2)
    throw ShapeError("linalg.matrix_norm: expected a tensor with at least 2 dims, got shape " + shape_str(x.shape()));
  int64_t r = wrap_existing_dim(dims[0], x.dim(), "linalg.matrix_norm");
  int64_t c = wrap_existing_dim(dims[1], x.dim(), "linalg.matrix_norm");
  if (r == c) throw ShapeError("linalg.matrix_norm: the two dims must differ, both are " + std::to_string(r));
  double inf = std::numeric_limits<double>::infinity();
  // ord 1 is the largest column sum of |x|, inf the largest row sum; the negatives take the smallest.
  int64_t summed, across;
  if (ord == 1.0 || ord == -1.0) {
    summed = r;
    across = c;
  } else if (ord == inf || ord == -inf) {
    summed = c;
    across = r;
  } else {
    throw ValueError("linalg.matrix_norm: ord " + std::to_string(ord) +
                     " is not supported; use 'fro', 1, -1, inf or -inf (ord 2, -2 and 'nuc' need singular values)");
  }
  Tensor sums = sum(abs(x), {summed}, true);
  Tensor out = ord > 0 ? amax(sums, {across}, true) : amin(sums, {across}, true);
  if (keepdim) return out;
  return squeeze(out, std::vector<int64_t>{r, c});
}

Tensor linalg_norm(const Tensor& x, std::optional<double> ord, const std::optional<std::vector<int64_t>>& dim,
                   bool keepdim) {
  check_floating(x, "linalg.norm");
  if (dim && dim->size() == 2) return ord ? matrix_norm(x, *ord, *dim, keepdim) : vector_norm(x, 2.0, *dim, keepdim);
  if (dim && dim->size() != 1)
    throw ShapeError("linalg.norm: dim must name 1 or 2 dims, got " + std::to_string(dim->size()));
  if (!ord) return vector_norm(x, 2.0, dim ? *dim : std::vector<int64_t>{}, keepdim);
  if (dim) return vector_norm(x, *ord, *dim, keepdim);
  if (x.dim() == 1) return vector_norm(x, *ord, {}, keepdim);
  if (x.dim() == 2) return matrix_norm(x, *ord, {0, 1}, keepdim);
  throw ShapeError("linalg.norm: without dim, ord needs a 1-D or 2-D input, got shape " + shape_str(x.shape()) +
                   "; pass dim, or use linalg.vector_norm");
}

Tensor linalg_norm(const Tensor& x, const std::string& ord, const std::optional<std::vector<int64_t>>& dim,
                   bool keepdim) {
  check_floating(x, "linalg.norm");
  if (!dim && x.dim() != 2)
    throw ShapeError("linalg.norm: ord='" + ord + "' needs a 2-D input or a dim of two dims, got shape " +
                     shape_str(x.shape()));
  return matrix_norm(x, ord, dim ? *dim : std::vector<int64_t>{0, 1}, keepdim);
}

Tensor norm(const Tensor& x, double p, const std::vector<int64_t>& dims, bool keepdim) {
  check_floating(x, "norm");
  return vector_norm(x, p, dims, keepdim);
}

Tensor dist(const Tensor& a, const Tensor& b, double p) { return vector_norm(a - b, p, {}, false); }

Tensor outer(const Tensor& a, const Tensor& b) {
  if (a.dim() != 1 || b.dim() != 1)
    throw ShapeError("outer: expected two 1-D tensors, got shapes " + shape_str(a.shape()) + " and " +
                     shape_str(b.shape()));
  return unsqueeze(a, 1) * unsqueeze(b, 0);
}

}  // namespace backprop
