// Gradient clipping by total norm and by value.
#include <cmath>
#include <limits>

#include "../dispatch.hpp"
#include "../kernels/reduce.hpp"
#include "../tensor_impl.hpp"
#include "backprop/autograd.hpp"
#include "backprop/ops.hpp"
#include "backprop/optim.hpp"

namespace backprop::optim {
namespace {

// sum(|g|^p) (or max |g| for p = inf), accumulated in double.
double partial_norm(const Tensor& g, double p) {
  Tensor c = g.contiguous();
  double acc = 0;
  BP_DISPATCH_FLOATING(c.dtype(), "clip_grad_norm_", { acc = kernels::norm_partial(c.data<scalar_t>(), c.numel(), p); });
  return acc;
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  if (norm_type <= 0 && !std::isinf(norm_type))
    throw ValueError("clip_grad_norm_: norm_type must be positive or inf, got " + std::to_string(norm_type));
  double total = 0;
  bool inf_norm = std::isinf(norm_type);
  for (const Tensor& g : grads) {
    double part = partial_norm(g, norm_type);
    total = inf_norm ? std::max(total, part) + (part != part ? part : 0.0) : total + part;
  }
  if (!inf_norm) total = norm_type == 2.0 ? std::sqrt(total) : norm_type == 1.0 ? total : std::pow(total, 1.0 / norm_type);
  if (error_if_nonfinite && !std::isfinite(total))
    throw RuntimeError("clip_grad_norm_: the total norm of order " + std::to_string(norm_type) +
                       " for gradients is non-finite, so it cannot be clipped; to scale the gradients by the "
                       "non-finite norm anyway, set error_if_nonfinite=False");
  for (const Tensor& g : grads) {
    BP_DISPATCH_FLOATING(g.dtype(), "clip_grad_norm_", {
      // The same float arithmetic as torch: coef = max_norm / (total + 1e-6), clamped at 1.
      scalar_t coef = static_cast<scalar_t>(max_norm) / (static_cast<scalar_t>(total) + static_cast<scalar_t>(1e-6));
      if (coef > scalar_t(1)) coef = scalar_t(1);
      Tensor gc = g;
      gc.mul_(static_cast<double>(coef));
    });
  }
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  NoGradGuard no_grad;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    g.copy_(clamp(g, -clip_value, clip_value));
  }
}

}  // namespace backprop::optim
