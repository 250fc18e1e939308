#pragma once
// Activation derivatives written in differentiable ops, for backward passes that are recorded
// (create_graph). The first-order path keeps the fused kernels of kernels/activation.hpp; these
// give the same values with a graph, so the gradient can be differentiated again. Masks (relu,
// leaky_relu, softplus's threshold) are constants, as their derivative is zero almost everywhere.
#include <cmath>

#include "../kernels/activation.hpp"
#include "backprop/ops.hpp"
#include "elementwise.hpp"

namespace backprop {

/// The standard normal CDF as an op whose backward is the density in ops: GELU's derivative
/// needs it with its own derivatives.
Tensor normal_cdf(const Tensor& x);

namespace derivative {

// 1 where pred(s) holds, else `otherwise`: a constant of s's shape and dtype.
template <class P>
Tensor mask(const Tensor& s, P pred, double otherwise = 0.0) {
  return map_unary(s.detach(), "activation_backward", [pred, otherwise](auto v) {
    using T = decltype(v);
    return pred(v) ? T(1) : static_cast<T>(otherwise);
  });
}

// Each takes the saved tensor the functor's grad reads (the output when kFromOutput).
inline Tensor of(const kernels::ReluFn&, const Tensor& y) {
  return mask(y, [](auto v) { return v > decltype(v)(0); });
}
inline Tensor of(const kernels::LeakyReluFn& fn, const Tensor& x) {
  return mask(x, [](auto v) { return v > decltype(v)(0); }, fn.slope);
}
inline Tensor of(const kernels::SigmoidFn&, const Tensor& y) { return y * (1.0 - y); }
inline Tensor of(const kernels::TanhFn&, const Tensor& y) { return 1.0 - y * y; }
inline Tensor of(const kernels::GeluFn&, const Tensor& x) {
  const double alpha = M_2_SQRTPI * M_SQRT1_2 * 0.5;  // 1 / sqrt(2 pi)
  return normal_cdf(x) + x * (exp(x * x * -0.5) * alpha);
}
inline Tensor of(const kernels::GeluTanhFn&, const Tensor& x) {
  const double beta = M_SQRT2 * M_2_SQRTPI * 0.5, kappa = 0.044715;
  Tensor t = tanh((x + x * x * x * kappa) * beta);
  return (t + 1.0) * 0.5 + x * 0.5 * (1.0 - t * t) * beta * (x * x * (3 * kappa) + 1.0);
}
inline Tensor of(const kernels::SoftplusFn& fn, const Tensor& x) {
  double beta = fn.beta, threshold = fn.threshold;
  Tensor above = mask(x, [beta, threshold](auto v) { return v * static_cast<decltype(v)>(beta) > threshold; });
  return above + (1.0 - above) * sigmoid(x * beta);
}
inline Tensor of(const kernels::ExpFn&, const Tensor& y) { return y; }
inline Tensor of(const kernels::LogFn&, const Tensor& x) { return 1.0 / x; }

}  // namespace derivative
}  // namespace backprop
