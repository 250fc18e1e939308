// clone and dtype conversion.
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

struct Clone : OpBase {
  static constexpr const char* kName = "CloneBackward0";
  Tensor forward(const Tensor& x) {
    Tensor out = make_tensor(x.shape(), x.dtype());
    copy_into(out, x);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) { return {g}; }
};

struct ToDType : OpBase {
  static constexpr const char* kName = "ToCopyBackward0";
  DType dtype_;
  explicit ToDType(DType dtype) : dtype_(dtype) {}
  Tensor forward(const Tensor& x) {
    if (x.requires_grad() && !is_floating(dtype_) && recording())
      throw TypeError(std::string("to: converting a tensor that requires grad to ") + dtype_name(dtype_) +
                      " would drop its gradient; call .detach() first");
    return cast_raw(x, dtype_);
  }
  // The template casts the gradient back to the input's dtype.
  std::vector<Tensor> backward(const Tensor& g) { return {g}; }
};

}  // namespace

Tensor Tensor::clone() const { return record(Clone{}, *this); }

Tensor Tensor::to(DType dtype) const {
  if (dtype == this->dtype()) return *this;
  if (!is_floating(dtype)) {
    NoGradGuard no_grad;
    return cast_raw(*this, dtype);
  }
  return record(ToDType(dtype), *this);
}

}  // namespace backprop
