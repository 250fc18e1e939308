// sum, mean, max, min, amax, logsumexp, argmax, argmin, var and sum_to.
#include <algorithm>
#include <cmath>
#include <limits>

#include "../kernels/reduce.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

// Sorted, unique, wrapped dims; empty means all.
std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw ShapeError(std::string(op) + ": a dimension appears more than once in the list of dims");
  if (ndim == 0) out.clear();
  return out;
}

Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!reduced)
      out.push_back(shape[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

// `x` rearranged as a contiguous [outer, R, inner] block with the reduced dims in the middle.
struct Block {
  Tensor data;
  int64_t outer = 1, R = 1, inner = 1;
};

Block to_block(const Tensor& x, const std::vector<int64_t>& dims) {
  Block b;
  const Shape& s = x.shape();
  if (dims.empty()) {
    b.data = x.contiguous();
    return b;
  }
  bool adjacent = dims.back() - dims.front() + 1 == static_cast<int64_t>(dims.size());
  if (adjacent) {
    b.data = x.contiguous();
    for (int64_t d = 0; d < dims.front(); ++d) b.outer *= s[d];
    for (int64_t d : dims) b.R *= s[d];
    for (int64_t d = dims.back() + 1; d < x.dim(); ++d) b.inner *= s[d];
    return b;
  }
  std::vector<int64_t> perm;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(dims.begin(), dims.end(), d) == dims.end()) {
      perm.push_back(d);
      b.outer *= s[d];
    }
  for (int64_t d : dims) {
    perm.push_back(d);
    b.R *= s[d];
  }
  b.data = permute(x, perm).contiguous();
  return b;
}

// The gradient of a reduction broadcast back to the input shape.
Tensor expand_back(const Tensor& g, const Shape& in_shape, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor k = keepdim ? g : reshape(g, reduced_shape(in_shape, dims, true));
  return expand(k, in_shape);
}

struct Sum : OpBase {
  static constexpr const char* kName = "SumBackward1";
  std::vector<int64_t> dims_;
  bool keepdim_;
  Shape in_shape_;
  Sum(std::vector<int64_t> dims, bool keepdim) : dims_(std::move(dims)), keepdim_(keepdim) {}
  Tensor forward(const Tensor& x) {
    in_shape_ = x.shape();
    dims_ = normalize_dims(dims_, x.dim(), "sum");
    Tensor src = is_floating(x.dtype()) ? x : cast_raw(x, DType::Int64);
    Block b = to_block(src, dims_);
    Tensor out = make_tensor(reduced_shape(in_shape_, dims_, keepdim_), src.dtype());
    BP_DISPATCH_NUMERIC(src.dtype(), "sum", {
      kernels::sum_middle<scalar_t>(b.data.data<scalar_t>(), out.data<scalar_t>(), b.outer, b.R, b.inner);
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) { return {expand_back(g, in_shape_, dims_, keepdim_)}; }
};

struct Mean : OpBase {
  static constexpr const char* kName = "MeanBackward1";
  std::vector<int64_t> dims_;
  bool keepdim_;
  Shape in_shape_;
  int64_t count_ = 1;
  Mean(std::vector<int64_t> dims, bool keepdim) : dims_(std::move(dims)), keepdim_(keepdim) {}
  Tensor forward(const Tensor& x) {
    if (!is_floating(x.dtype()))
      throw TypeError(std::string("mean: could not infer output dtype; input dtype must be floating point, got ") +
                      dtype_name(x.dtype()) + "; convert with .float() first");
    in_shape_ = x.shape();
    dims_ = normalize_dims(dims_, x.dim(), "mean");
    Block b = to_block(x, dims_);
    count_ = b.R;
    Tensor out = make_tensor(reduced_shape(in_shape_, dims_, keepdim_), x.dtype());
    BP_DISPATCH_FLOATING(x.dtype(), "mean", {
      kernels::mean_middle<scalar_t>(b.data.data<scalar_t>(), out.data<scalar_t>(), b.outer, b.R, b.inner);
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {expand_back(g / static_cast<double>(count_), in_shape_, dims_, keepdim_)};
  }
};

// max/min along one dim: values and indices; the gradient goes to the chosen index.
template <bool kMax>
struct ExtremumDim : OpBase {
  static constexpr const char* kName = kMax ? "MaxBackward0" : "MinBackward0";
  int64_t dim_;
  bool keepdim_;
  Shape in_shape_;
  Tensor indices_;
  int indices_slot_ = -1;
  Tensor* indices_out_;  // the caller's slot for the indices, written during forward
  ExtremumDim(int64_t dim, bool keepdim, Tensor* indices_out) : dim_(dim), keepdim_(keepdim), indices_out_(indices_out) {}
  Tensor forward(const Tensor& x) {
    const char* op = kMax ? "max" : "min";
    if (x.numel() == 0) throw ShapeError(std::string(op) + ": cannot reduce an empty tensor along a dimension");
    in_shape_ = x.shape();
    dim_ = wrap_dim(dim_, x.dim(), op);
    std::vector<int64_t> dims = x.dim() == 0 ? std::vector<int64_t>{} : std::vector<int64_t>{dim_};
    Block b = to_block(x, dims);
    Shape out_shape = reduced_shape(in_shape_, dims, keepdim_);
    Tensor values = make_tensor(out_shape, x.dtype());
    indices_ = make_tensor(out_shape, DType::Int64);
    BP_DISPATCH_NUMERIC(x.dtype(), op, {
      kernels::extremum_middle<kMax, scalar_t>(b.data.data<scalar_t>(), values.data<scalar_t>(),
                                              indices_.data<int64_t>(), b.outer, b.R, b.inner);
    });
    if (indices_out_) *indices_out_ = indices_;
    // Saved (not kept as a member) so backward checks its version and frees it afterwards.
    indices_slot_ = save(indices_);
    indices_ = Tensor();
    return values;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor gk = contiguous_keepdim(g);
    Tensor idx = contiguous_keepdim(saved(indices_slot_));
    Tensor out = zeros(in_shape_, g.dtype());
    int64_t outer = 1, R = in_shape_.empty() ? 1 : in_shape_[dim_], inner = 1;
    for (int64_t d = 0; d < dim_; ++d) outer *= in_shape_[d];
    for (int64_t d = dim_ + 1; d < static_cast<int64_t>(in_shape_.size()); ++d) inner *= in_shape_[d];
    if (is_grad_enabled()) {
      // Recorded backward: the gradient times a constant one-hot mask of the chosen elements.
      gk = ones_like(gk.detach());
    }
    BP_DISPATCH_FLOATING(g.dtype(), "max_backward", {
      kernels::scatter_middle(gk.data<scalar_t>(), idx.data<int64_t>(), out.data<scalar_t>(), outer, R, inner);
    });
    if (is_grad_enabled()) return {expand(contiguous_keepdim(g), in_shape_) * out};
    return {out};
  }
  Tensor contiguous_keepdim(const Tensor& t) const {
    std::vector<int64_t> dims = in_shape_.empty() ? std::vector<int64_t>{} : std::vector<int64_t>{dim_};
    return reshape(t, reduced_shape(in_shape_, dims, true)).contiguous();
  }
};

// max/min/amax/amin over dims: the gradient is shared evenly between tied elements.
template <bool kMax>
struct Amax : OpBase {
  static constexpr const char* kName = kMax ? "AmaxBackward0" : "AminBackward0";
  std::vector<int64_t> dims_;
  bool keepdim_;
  Shape in_shape_;
  int x_ = -1, out_ = -1;
  Amax(std::vector<int64_t> dims, bool keepdim) : dims_(std::move(dims)), keepdim_(keepdim) {}
  Tensor forward(const Tensor& x) {
    const char* op = kMax ? "max" : "min";
    if (x.numel() == 0)
      throw ShapeError(std::string(op) + ": cannot reduce an empty tensor; it has no identity");
    in_shape_ = x.shape();
    dims_ = normalize_dims(dims_, x.dim(), op);
    Block b = to_block(x, dims_);
    Tensor out = make_tensor(reduced_shape(in_shape_, dims_, keepdim_), x.dtype());
    BP_DISPATCH_NUMERIC(x.dtype(), op, {
      kernels::extremum_middle<kMax, scalar_t>(b.data.data<scalar_t>(), out.data<scalar_t>(), nullptr, b.outer,
                                              b.R, b.inner);
    });
    x_ = save(x);
    out_ = save(out);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor x = saved(x_);
    Tensor out = expand_back(saved(out_), in_shape_, dims_, keepdim_);
    Tensor mask = eq(x, out).to(g.dtype());
    Tensor count = sum(mask, dims_, true);
    return {expand_back(g, in_shape_, dims_, keepdim_) * mask / count};
  }
};

struct LogSumExp : OpBase {
  static constexpr const char* kName = "LogsumexpBackward0";
  std::vector<int64_t> dims_;
  bool keepdim_;
  Shape in_shape_;
  int x_ = -1, out_ = -1;
  LogSumExp(std::vector<int64_t> dims, bool keepdim) : dims_(std::move(dims)), keepdim_(keepdim) {}
  Tensor forward(const Tensor& x) {
    if (!is_floating(x.dtype())) return forward(cast_raw(x, DType::Float32));
    in_shape_ = x.shape();
    dims_ = normalize_dims(dims_, x.dim(), "logsumexp");
    if (x.numel() == 0) {
      // The log of an empty sum: -inf where the reduced extent is empty, as in PyTorch.
      Tensor out = full(reduced_shape(in_shape_, dims_, keepdim_), -std::numeric_limits<double>::infinity(), x.dtype());
      x_ = save(x);
      out_ = save(out);
      return out;
    }
    Tensor m = amax(x, dims_, true);
    // An infinite maximum would give inf - inf; shifting by zero there is exact.
    m = map_unary(m, "logsumexp", [](auto v) { return std::isinf(v) ? decltype(v)(0) : v; });
    Tensor out = log(sum(exp(x - m), dims_, true)) + m;
    if (!keepdim_) out = reshape(out, reduced_shape(in_shape_, dims_, false));
    x_ = save(x);
    out_ = save(out);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor out = expand_back(saved(out_), in_shape_, dims_, keepdim_);
    return {expand_back(g, in_shape_, dims_, keepdim_) * exp(saved(x_) - out)};
  }
};

template <bool kMax>
Tensor arg_extremum(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  const char* op = kMax ? "argmax" : "argmin";
  if (x.numel() == 0) throw ShapeError(std::string(op) + ": cannot take the arg of an empty tensor");
  NoGradGuard no_grad;
  Tensor idx;
  if (!dim) {
    ExtremumDim<kMax>(0, false, &idx).forward(reshape(x, {-1}));
    return keepdim ? reshape(idx, Shape(x.dim(), 1)) : reshape(idx, {});
  }
  ExtremumDim<kMax>(*dim, keepdim, &idx).forward(x);
  return idx;
}

template <bool kMax>
std::pair<Tensor, Tensor> extremum_dim(const Tensor& x, int64_t dim, bool keepdim) {
  Tensor indices;
  Tensor values = record(ExtremumDim<kMax>(dim, keepdim, &indices), x);
  return {values, indices};
}

}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { return record(Sum(dims, keepdim), x); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { return record(Mean(dims, keepdim), x); }
Tensor max(const Tensor& x) { return record(Amax<true>({}, false), x); }
Tensor min(const Tensor& x) { return record(Amax<false>({}, false), x); }
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return record(Amax<true>(dims, keepdim), x);
}
std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) { return extremum_dim<true>(x, dim, keepdim); }
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) { return extremum_dim<false>(x, dim, keepdim); }
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return arg_extremum<true>(x, dim, keepdim); }
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) { return arg_extremum<false>(x, dim, keepdim); }
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return record(LogSumExp(dims, keepdim), x);
}

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  auto d = normalize_dims(dims, x.dim(), "var");
  int64_t n = 1;
  for (int64_t k : d) n *= x.shape()[k];
  Tensor centered = x - mean(x, d, true);
  return sum(centered * centered, d, keepdim) / std::max(0.0, static_cast<double>(n) - correction);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  if (lead < 0)
    throw ShapeError("sum_to: cannot sum a tensor of shape " + shape_str(x.shape()) + " to the larger shape " +
                     shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < lead; ++d) dims.push_back(d);
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] == 1 && x.shape()[lead + i] != 1) dims.push_back(lead + static_cast<int64_t>(i));
  if (dims.empty()) return reshape(x, shape);
  return reshape(sum(x, dims, true), shape);
}

}  // namespace backprop
