// binary_cross_entropy, l1_loss, smooth_l1_loss, huber_loss, kl_div and gaussian_nll_loss.
// Forwards that PyTorch fuses are fused here too (one pass, nothing kept but the inputs); every
// backward is written in differentiable ops, so gradients of gradients go through them.
#include <cmath>
#include <type_traits>

#include "backprop/autograd.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

void check_reduction(const std::string& reduction, const char* op) {
  if (reduction != "mean" && reduction != "sum" && reduction != "none")
    throw ValueError(std::string(op) + ": " + reduction + " is not a valid value for reduction (use 'mean', 'sum' or "
                     "'none')");
}

Tensor reduce(const Tensor& per_element, const std::string& reduction) {
  if (reduction == "sum") return sum(per_element);
  if (reduction == "mean") return mean(per_element);
  return per_element;
}

void check_floating(const Tensor& input, const char* op) {
  if (!is_floating(input.dtype()))
    throw TypeError(std::string(op) + ": expected a floating input, got " + dtype_name(input.dtype()) +
                    "; convert it with .float() or .double()");
}

// The target in the input's dtype; a float32/float64 mix raises as arithmetic does.
Tensor target_like(const Tensor& target, const Tensor& input, const char* op) {
  if (is_floating(target.dtype())) promote_types(input, target, op);
  return cast_raw(target, input.dtype());
}

// -w * (t * max(log x, -100) + (1 - t) * max(log(1 - x), -100)): PyTorch's clamp keeps the loss
// finite at probabilities 0 and 1. The gradient is PyTorch's too, (x - t) / max(x (1 - x), 1e-12),
// which is not the derivative of the clamped forward but stays finite there.
struct BinaryCrossEntropy : OpBase {
  static constexpr const char* kName = "BinaryCrossEntropyBackward0";
  Tensor weight_arg_;  // constant: PyTorch has no gradient for it either
  int x_ = -1, t_ = -1, w_ = -1;
  explicit BinaryCrossEntropy(Tensor weight) : weight_arg_(std::move(weight)) {}
  Tensor forward(const Tensor& x, const Tensor& target) {
    Tensor t = target_like(target, x, "binary_cross_entropy");
    Tensor per = map_binary(x, t, x.dtype(), "binary_cross_entropy", [](auto xv, auto tv) {
      using T = decltype(xv);
      if constexpr (std::is_floating_point_v<T>) {
        T log_x = std::max(std::log(xv), T(-100));
        T log_1mx = std::max(std::log1p(-xv), T(-100));
        return (tv - T(1)) * log_1mx - tv * log_x;
      } else {
        return xv;
      }
    });
    if (weight_arg_.defined()) per = per * weight_arg_;
    x_ = save(x);
    t_ = save(t);
    w_ = save(weight_arg_);
    weight_arg_ = Tensor();
    return per;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor x = saved(x_), t = saved(t_), w = saved(w_);
    Tensor gw = w.defined() ? g * w : g;
    Tensor gx, gt;
    if (needs(0)) gx = gw * (x - t) / clamp((1.0 - x) * x, 1e-12, std::nullopt);
    if (needs(1)) gt = gw * (clamp(log(1.0 - x), -100.0, std::nullopt) - clamp(log(x), -100.0, std::nullopt));
    return {gx, gt};
  }
};

// Smooth L1 (quadratic below beta, scaled by 1 / beta) and Huber (quadratic below delta,
// unscaled) of d = input - target. Their gradients are d clamped to the quadratic zone.
struct SmoothL1 : OpBase {
  static constexpr const char* kName = "SmoothL1LossBackward0";
  double beta_;
  bool huber_;
  int x_ = -1, t_ = -1;
  SmoothL1(double beta, bool huber) : beta_(beta), huber_(huber) {}
  Tensor forward(const Tensor& x, const Tensor& target) {
    Tensor t = target_like(target, x, huber_ ? "huber_loss" : "smooth_l1_loss");
    x_ = save(x);
    t_ = save(t);
    double beta = beta_;
    bool huber = huber_;
    return map_binary(x, t, x.dtype(), huber ? "huber_loss" : "smooth_l1_loss", [beta, huber](auto xv, auto tv) {
      using T = decltype(xv);
      if constexpr (std::is_floating_point_v<T>) {
        T z = std::abs(xv - tv), b = static_cast<T>(beta);
        if (huber) return z < b ? T(0.5) * z * z : b * (z - T(0.5) * b);
        return z < b ? T(0.5) * z * z / b : z - T(0.5) * b;
      } else {
        return xv;
      }
    });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor d = saved(x_) - saved(t_);
    Tensor slope = huber_ ? clamp(d, -beta_, beta_) : clamp(d / beta_, -1.0, 1.0);
    Tensor gx = g * slope;
    return {needs(0) ? gx : Tensor(), needs(1) ? neg(gx) : Tensor()};
  }
};

struct Huber : SmoothL1 {
  static constexpr const char* kName = "HuberLossBackward0";
  explicit Huber(double delta) : SmoothL1(delta, true) {}
};

// max(v, eps) forward, identity backward: PyTorch clamps the variance of gaussian_nll_loss under
// no_grad, so the gradient reaches var as if the clamp were not there.
struct ClampMinStraightThrough : OpBase {
  static constexpr const char* kName = "CloneBackward0";
  double eps_;
  explicit ClampMinStraightThrough(double eps) : eps_(eps) {}
  Tensor forward(const Tensor& v) {
    double eps = eps_;
    return map_unary(v, "gaussian_nll_loss", [eps](auto x) {
      using T = decltype(x);
      return x < T(eps) ? T(eps) : x;
    });
  }
  std::vector<Tensor> backward(const Tensor& g) { return {g}; }
};

}  // namespace

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight,
                            const std::string& reduction) {
  check_reduction(reduction, "binary_cross_entropy");
  check_floating(input, "binary_cross_entropy");
  if (target.shape() != input.shape())
    throw ValueError("binary_cross_entropy: Using a target size (" + shape_str(target.shape()) +
                     ") that is different to the input size (" + shape_str(input.shape()) +
                     ") is deprecated. Please ensure they have the same size.");
  {
    NoGradGuard no_grad;
    std::vector<double> values = input.to_vector();
    for (double v : values)
      if (!(v >= 0.0 && v <= 1.0))
        throw RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1 (found " +
                           std::to_string(v) + "); apply sigmoid first, or use binary_cross_entropy_with_logits");
  }
  Tensor w;
  if (weight.defined()) {
    Shape shape = broadcast_shapes(target.shape(), weight.shape(), "binary_cross_entropy (weight)");
    if (shape != target.shape())
      throw ShapeError("binary_cross_entropy: weight of shape " + shape_str(weight.shape()) +
                       " broadcasts the target " + shape_str(target.shape()) + " to " + shape_str(shape) +
                       "; it must broadcast to the target's shape");
    w = target_like(weight, input, "binary_cross_entropy").detach();
  }
  return reduce(record(BinaryCrossEntropy(w), input, target), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_reduction(reduction, "l1_loss");
  check_floating(input, "l1_loss");
  return reduce(abs(input - target), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double beta) {
  check_reduction(reduction, "smooth_l1_loss");
  check_floating(input, "smooth_l1_loss");
  if (beta < 0) throw RuntimeError("smooth_l1_loss does not support negative values for beta (got " + std::to_string(beta) + ")");
  if (beta == 0) return l1_loss(input, target, reduction);
  return reduce(record(SmoothL1(beta, false), input, target), reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double delta) {
  check_reduction(reduction, "huber_loss");
  check_floating(input, "huber_loss");
  if (!(delta > 0))
    throw RuntimeError("huber_loss does not support non-positive values for delta (got " + std::to_string(delta) + ")");
  return reduce(record(Huber(delta), input, target), reduction);
}

Tensor kl_div(const Tensor& input, const Tensor& target, const std::string& reduction, bool log_target) {
  if (reduction != "mean" && reduction != "sum" && reduction != "none" && reduction != "batchmean")
    throw ValueError("kl_div: " + reduction + " is not a valid value for reduction (use 'mean', 'batchmean', 'sum' "
                     "or 'none')");
  check_floating(input, "kl_div");
  Tensor per;
  if (log_target) {
    per = exp(target) * (target - input);
  } else {
    // xlogy(t, t): 0 where t == 0, as PyTorch defines it (log(1) stands in for log(0)).
    Tensor zero = zeros({}, target.dtype());
    Tensor safe = where(eq(target, zero), ones({}, target.dtype()), target);
    per = target * log(safe) - target * input;
  }
  if (reduction == "batchmean") {
    Tensor total = sum(per);
    return input.dim() == 0 ? total : total / static_cast<double>(input.shape()[0]);
  }
  return reduce(per, reduction);
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var, bool full, double eps,
                         const std::string& reduction) {
  check_floating(input, "gaussian_nll_loss");
  {
    NoGradGuard no_grad;
    for (double v : var.to_vector())
      if (v < 0) throw ValueError("gaussian_nll_loss: var has negative entry/entries");
  }
  Tensor v = var;
  if (var.shape() != input.shape()) {
    Shape lead(input.shape().begin(), input.shape().end() - (input.dim() > 0 ? 1 : 0));
    int64_t mismatched = 0;
    if (input.dim() == var.dim())
      for (int64_t d = 0; d < input.dim(); ++d)
        if (input.shape()[d] != var.shape()[d]) mismatched += var.shape()[d];
    if (input.dim() > 0 && var.shape() == lead)
      v = unsqueeze(var, -1);  // one variance per row (homoscedastic over the last dim)
    else if (!(input.dim() == var.dim() && mismatched == 1))
      throw ValueError("gaussian_nll_loss: var is of incorrect size: got " + shape_str(var.shape()) +
                       " for input " + shape_str(input.shape()) +
                       " (give it the input's shape, or drop or set to 1 a single dim)");
  }
  if (reduction != "mean" && reduction != "sum" && reduction != "none")
    throw ValueError("gaussian_nll_loss: " + reduction + " is not valid");
  v = record(ClampMinStraightThrough(eps), v);
  Tensor d = input - target;
  Tensor loss = 0.5 * (log(v) + d * d / v);
  if (full) loss = loss + 0.5 * std::log(2 * M_PI);
  return reduce(loss, reduction);
}

Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, double var, bool full, double eps,
                         const std::string& reduction) {
  if (var < 0) throw ValueError("gaussian_nll_loss: var has negative entry/entries");
  return gaussian_nll_loss(input, target, full_like(input, var), full, eps, reduction);
}

}  // namespace backprop
