// Tensor methods that forward to the free functions of ops.hpp, and the in-place methods that
// rewrite a tensor's own state (detach_, set_data, clamp_).
#include <mutex>

#include "backprop/autograd.hpp"
#include "backprop/ops.hpp"
#include "tensor_impl.hpp"
#include "tensor_utils.hpp"

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

int64_t Tensor::stride(int64_t d) const { return strides()[wrap_existing_dim(d, dim(), "stride")]; }

Tensor& Tensor::clamp_(std::optional<double> min, std::optional<double> max) {
  // Clamp's backward reads its input, which this write overwrites: when the op is recorded, it
  // reads a copy instead (as PyTorch keeps the original self of an in-place op).
  bool recorded = is_grad_enabled() && requires_grad();
  return assign_inplace(*this, backprop::clamp(recorded ? clone() : *this, min, max), "clamp_");
}

Tensor& Tensor::clamp_min_(double min) { return clamp_(min, std::nullopt); }

// where()'s backward reads only the mask, so unlike clamp_ nothing needs copying first.
Tensor& Tensor::masked_fill_(const Tensor& mask, double value) {
  return assign_inplace(*this, backprop::masked_fill(*this, mask, value), "masked_fill_");
}
Tensor& Tensor::masked_fill_(const Tensor& mask, const Tensor& value) {
  return assign_inplace(*this, backprop::masked_fill(*this, mask, value), "masked_fill_");
}

Tensor& Tensor::detach_() {
  impl()->grad_fn.reset();
  impl()->requires_grad = false;
  return *this;
}

Tensor& Tensor::set_data(const Tensor& value) {
  if (!defined() || !value.defined()) throw TypeError("set_data: the tensor or the new data is undefined");
  if (requires_grad() && !is_floating(value.dtype()))
    throw TypeError(std::string("data: a tensor that requires grad can't hold ") + dtype_name(value.dtype()) +
                    " data; call requires_grad_(False) first");
  TensorImpl* self = impl();
  const TensorImpl* v = value.impl();
  self->storage = v->storage;
  self->shape = v->shape;
  self->strides = v->strides;
  self->offset = v->offset;
  self->dtype = v->dtype;
  self->numel = v->numel;
  std::lock_guard<std::mutex> lock(self->grad_mutex);
  if (self->grad.defined() && (self->grad.shape() != self->shape || self->grad.dtype() != self->dtype))
    self->grad = Tensor();
  return *this;
}

}  // namespace backprop
