#pragma once
// The activations of kernels/activation_more.hpp with their gradient written in differentiable
// ops, for backward passes that are recorded (create_graph). First order keeps the fused kernels;
// these give the same values with a graph, and their own derivatives are PyTorch's double
// backward: zero for the piecewise-linear ones (hardtanh, relu6, hardsigmoid), the slope 1/3 only
// strictly inside (-3, 3) for hardswish, the exponential branch only for x < 0 in the ELU family.
#include <type_traits>

#include "../kernels/activation_more.hpp"
#include "backprop/ops.hpp"
#include "elementwise.hpp"

namespace backprop::derivative {

// fn's first derivative at x as a constant (no graph): the fused kernel's own formula with g = 1.
template <class Fn>
Tensor constant_slope(const Fn& fn, const Tensor& x) {
  return map_unary(x.detach(), "activation_backward", [fn](auto v) {
    using T = decltype(v);
    if constexpr (std::is_floating_point_v<T>)
      return fn.grad(T(1), v);
    else
      return v;
  });
}

inline Tensor grad(const kernels::HardtanhFn& fn, const Tensor& g, const Tensor& x) {
  return g * constant_slope(fn, x);
}
inline Tensor grad(const kernels::HardsigmoidFn& fn, const Tensor& g, const Tensor& x) {
  return g * constant_slope(fn, x);
}
// `expr` (differentiable) where `inside` holds, fn's constant first-order slope elsewhere: the
// branch points keep the fused kernel's values while their second derivative is zero, as in torch.
template <class Fn>
Tensor piecewise(const Fn& fn, const Tensor& x, const Tensor& inside, const Tensor& expr) {
  return where(inside, expr, constant_slope(fn, x));
}

inline Tensor grad(const kernels::HardswishFn& fn, const Tensor& g, const Tensor& x) {
  Tensor xd = x.detach();
  Tensor inside = logical_and(gt(xd, scalar_tensor(-3.0, x.dtype())), lt(xd, scalar_tensor(3.0, x.dtype())));
  return g * piecewise(fn, x, inside, x / 3.0 + 0.5);
}
// The exponential branch is differentiated only for x < 0 (torch's double backward), though x = 0
// takes its slope. It is taken of x selected by a constant mask, so large positive inputs cannot
// overflow into the unselected branch (whose gradient would then be 0 * inf).
inline Tensor grad(const kernels::EluFn& fn, const Tensor& g, const Tensor& x) {
  Tensor zero = scalar_tensor(0.0, x.dtype());
  Tensor neg = lt(x.detach(), zero);
  Tensor slope_neg = exp(where(neg, x, zero) * fn.input_scale) * (fn.alpha * fn.scale * fn.input_scale);
  return g * piecewise(fn, x, neg, slope_neg);
}
inline Tensor grad(const kernels::SiluFn&, const Tensor& g, const Tensor& x) {
  Tensor s = sigmoid(x);
  return g * (s * (x * (1.0 - s) + 1.0));
}
inline Tensor grad(const kernels::MishFn&, const Tensor& g, const Tensor& x) {
  Tensor t = tanh(softplus(x));
  return g * (t + x * sigmoid(x) * (1.0 - t * t));
}
inline Tensor grad(const kernels::SoftsignFn&, const Tensor& g, const Tensor& x) { return g / square(abs(x) + 1.0); }
inline Tensor grad(const kernels::TanhshrinkFn&, const Tensor& g, const Tensor& x) {
  Tensor t = tanh(x);
  return g * (t * t);
}
inline Tensor grad(const kernels::LogSigmoidFn&, const Tensor& g, const Tensor& x) { return g * sigmoid(-x); }

}  // namespace backprop::derivative
