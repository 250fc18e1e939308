// Tensor methods that forward to the free functions of ops.hpp.
#include "backprop/ops.hpp"

namespace backprop {

Tensor Tensor::sum() const { return backprop::sum(*this); }
Tensor Tensor::sum(int64_t dim, bool keepdim) const { return backprop::sum(*this, {dim}, keepdim); }
Tensor Tensor::mean() const { return backprop::mean(*this); }
Tensor Tensor::mean(int64_t dim, bool keepdim) const { return backprop::mean(*this, {dim}, keepdim); }
Tensor Tensor::reshape(const Shape& shape) const { return backprop::reshape(*this, shape); }
Tensor Tensor::view(const Shape& shape) const { return backprop::view(*this, shape); }
Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const { return backprop::transpose(*this, dim0, dim1); }
Tensor Tensor::permute(const std::vector<int64_t>& dims) const { return backprop::permute(*this, dims); }
Tensor Tensor::t() const {
  if (dim() > 2) throw ShapeError("t: expects a tensor with <= 2 dimensions, but it has " + std::to_string(dim()));
  return dim() < 2 ? *this : backprop::transpose(*this, 0, 1);
}
Tensor Tensor::unsqueeze(int64_t d) const { return backprop::unsqueeze(*this, d); }
Tensor Tensor::squeeze(int64_t d) const { return backprop::squeeze(*this, d); }
Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const { return backprop::flatten(*this, start_dim, end_dim); }
Tensor Tensor::expand(const Shape& shape) const { return backprop::expand(*this, shape); }
Tensor Tensor::pow(double exponent) const { return backprop::pow(*this, exponent); }
Tensor Tensor::exp() const { return backprop::exp(*this); }
Tensor Tensor::log() const { return backprop::log(*this); }
Tensor Tensor::sqrt() const { return backprop::sqrt(*this); }
Tensor Tensor::abs() const { return backprop::abs(*this); }
Tensor Tensor::relu() const { return backprop::relu(*this); }
Tensor Tensor::sigmoid() const { return backprop::sigmoid(*this); }
Tensor Tensor::tanh() const { return backprop::tanh(*this); }

}  // namespace backprop
