// The C++ activation layers beyond ReLU/Tanh/Sigmoid (module.cpp); each forwards to its op, or to
// the in-place form when the layer was built with inplace.
#include "backprop/nn.hpp"
#include "backprop/errors.hpp"
#include "backprop/ops.hpp"

namespace backprop::nn {
namespace {
// A handle shares the input's storage, so writing through it writes into the caller's tensor.
template <class F>
Tensor in_place(const Tensor& x, F f) {
  Tensor y = x;
  f(y);
  return y;
}
}  // namespace

Tensor LeakyReLU::forward(const Tensor& x) {
  if (inplace) return in_place(x, [this](Tensor& y) { leaky_relu_(y, negative_slope); });
  return leaky_relu(x, negative_slope);
}

Hardtanh::Hardtanh(double min_val, double max_val, bool inplace) : min_val(min_val), max_val(max_val), inplace(inplace) {
  if (!(max_val > min_val))
    throw ValueError("Hardtanh: max_val (" + std::to_string(max_val) + ") must be greater than min_val (" +
                     std::to_string(min_val) + ")");
}
Tensor Hardtanh::forward(const Tensor& x) {
  if (inplace) return in_place(x, [this](Tensor& y) { hardtanh_(y, min_val, max_val); });
  return hardtanh(x, min_val, max_val);
}

Tensor ELU::forward(const Tensor& x) {
  if (inplace) return in_place(x, [this](Tensor& y) { elu_(y, alpha); });
  return elu(x, alpha);
}
Tensor CELU::forward(const Tensor& x) {
  if (inplace) return in_place(x, [this](Tensor& y) { celu_(y, alpha); });
  return celu(x, alpha);
}

#define BACKPROP_INPLACE_FORWARD(Name, op)                                      \
  Tensor Name::forward(const Tensor& x) {                                       \
    if (inplace) return in_place(x, [](Tensor& y) { op##_(y); });               \
    return op(x);                                                               \
  }
BACKPROP_INPLACE_FORWARD(SELU, selu)
BACKPROP_INPLACE_FORWARD(SiLU, silu)
BACKPROP_INPLACE_FORWARD(Mish, mish)
BACKPROP_INPLACE_FORWARD(Hardswish, hardswish)
BACKPROP_INPLACE_FORWARD(Hardsigmoid, hardsigmoid)
#undef BACKPROP_INPLACE_FORWARD

Tensor Softsign::forward(const Tensor& x) { return softsign(x); }
Tensor Tanhshrink::forward(const Tensor& x) { return tanhshrink(x); }
Tensor LogSigmoid::forward(const Tensor& x) { return logsigmoid(x); }
Tensor GLU::forward(const Tensor& x) { return glu(x, dim); }

PReLU::PReLU(int64_t num_parameters, double init, DType dtype) {
  if (num_parameters < 1)
    throw ValueError("PReLU: num_parameters must be at least 1, got " + std::to_string(num_parameters));
  weight = register_parameter("weight", full({num_parameters}, init, dtype));
}
Tensor PReLU::forward(const Tensor& x) { return prelu(x, weight); }

}  // namespace backprop::nn
