// cross_entropy (fused with log-softmax), nll_loss, mse_loss and binary_cross_entropy_with_logits.
#include <cmath>

#include "../kernels/loss.hpp"
#include "../kernels/softmax.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

void check_reduction(const std::string& reduction, const char* op) {
  if (reduction != "mean" && reduction != "sum" && reduction != "none")
    throw ValueError(std::string(op) + ": reduction must be 'mean', 'sum' or 'none', got '" + reduction + "'");
}

// Class weights as a contiguous vector of `C` values (all ones when absent).
Tensor class_weights(const Tensor& weight, int64_t C, DType dtype, const char* op) {
  if (!weight.defined()) return ones({C}, dtype);
  if (weight.dim() != 1 || weight.shape()[0] != C)
    throw ShapeError(std::string(op) + ": weight must have shape [" + std::to_string(C) + "] (one per class), got " +
                     shape_str(weight.shape()));
  return cast_raw(weight, dtype).contiguous();
}

// Per-sample loss of logits (N, C) against class indices (N): weighted, label-smoothed NLL of
// the log-softmax. Rows whose target is ignore_index give 0.
struct CrossEntropyIndices : OpBase {
  static constexpr const char* kName = "CrossEntropyLossBackward0";
  double smoothing_;
  int64_t ignore_;
  int probs_ = -1, target_ = -1, weight_ = -1, x_ = -1;
  Tensor weight_arg_;  // read by forward, then kept only as a saved tensor
  CrossEntropyIndices(double smoothing, int64_t ignore, Tensor weight)
      : smoothing_(smoothing), ignore_(ignore), weight_arg_(std::move(weight)) {}
  Tensor forward(const Tensor& x, const Tensor& target) {
    int64_t N = x.shape()[0], C = x.shape()[1];
    Tensor tc = target.contiguous();
    const int64_t* t = tc.data<int64_t>();
    int64_t bad = kernels::first_bad_target(t, N, C, ignore_);
    if (bad >= 0)
      throw IndexError("cross_entropy: target " + std::to_string(t[bad]) + " at position " + std::to_string(bad) +
                       " is out of bounds for " + std::to_string(C) + " classes; targets must lie in [0, " +
                       std::to_string(C - 1) + "]");
    Tensor xc = x.contiguous();
    Tensor logp = make_tensor({N, C}, x.dtype());
    Tensor out = make_tensor({N}, x.dtype());
    double eps = smoothing_;
    BP_DISPATCH_FLOATING(x.dtype(), "cross_entropy", {
      kernels::softmax_middle<true, scalar_t>(xc.data<scalar_t>(), logp.data<scalar_t>(), N, C, 1);
      kernels::cross_entropy_index_forward(logp.data<scalar_t>(), t, weight_arg_.data<scalar_t>(),
                                           out.data<scalar_t>(), N, C, ignore_, eps);
    });
    if (recording()) saved_.reserve(4);
    probs_ = save(logp);
    target_ = save(tc);
    weight_ = save(weight_arg_);
    x_ = save(x);  // by handle: only a recorded backward reads it
    weight_arg_ = Tensor();
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    if (is_grad_enabled()) return differentiable_backward(g);
    Tensor logp = saved(probs_), tc = saved(target_), weight = saved(weight_);
    int64_t N = logp.shape()[0], C = logp.shape()[1];
    Tensor gc = g.contiguous();
    Tensor dx = make_tensor({N, C}, logp.dtype());
    const int64_t* t = tc.data<int64_t>();
    double eps = smoothing_;
    BP_DISPATCH_FLOATING(logp.dtype(), "cross_entropy_backward", {
      kernels::cross_entropy_index_backward(logp.data<scalar_t>(), t, weight.data<scalar_t>(), gc.data<scalar_t>(),
                                            dx.data<scalar_t>(), N, C, ignore_, eps);
    });
    return {dx, Tensor()};
  }
  // The loss is -sum_c A[n, c] logp[n, c] with constant A (the weighted, smoothed target), so
  // dx = g (softmax(x) rowsum(A) - A): written in ops on x for a recorded backward.
  std::vector<Tensor> differentiable_backward(const Tensor& g) {
    Tensor x = saved(x_), tc = saved(target_), weight = saved(weight_);
    int64_t N = x.shape()[0], C = x.shape()[1];
    Tensor a = zeros({N, C}, x.dtype());
    const int64_t* t = tc.data<int64_t>();
    double eps = smoothing_;
    BP_DISPATCH_FLOATING(x.dtype(), "cross_entropy_backward", {
      const scalar_t* w = weight.data<scalar_t>();
      scalar_t* ap = a.data<scalar_t>();
      for (int64_t n = 0; n < N; ++n) {
        if (t[n] == ignore_) continue;
        for (int64_t c = 0; c < C; ++c) ap[n * C + c] = static_cast<scalar_t>(eps / static_cast<double>(C)) * w[c];
        ap[n * C + t[n]] += static_cast<scalar_t>(1 - eps) * w[t[n]];
      }
    });
    return {unsqueeze(g, 1) * (softmax(x, 1) * sum(a, {1}, true) - a), Tensor()};
  }
};

// Per-sample loss of logits (N, C) against class probabilities (N, C).
struct CrossEntropyProbs : OpBase {
  static constexpr const char* kName = "CrossEntropyLossBackward0";
  double smoothing_;
  Tensor weight_arg_;
  int logp_ = -1, q_ = -1, weight_ = -1, x_ = -1, target_ = -1;
  CrossEntropyProbs(double smoothing, Tensor weight) : smoothing_(smoothing), weight_arg_(std::move(weight)) {}
  Tensor forward(const Tensor& x, const Tensor& target) {
    int64_t N = x.shape()[0], C = x.shape()[1];
    Tensor xc = x.contiguous();
    Tensor q = cast_raw(target, x.dtype()).contiguous();
    if (smoothing_ > 0) q = q * (1 - smoothing_) + smoothing_ / static_cast<double>(C);
    Tensor logp = make_tensor({N, C}, x.dtype());
    Tensor out = make_tensor({N}, x.dtype());
    BP_DISPATCH_FLOATING(x.dtype(), "cross_entropy", {
      kernels::softmax_middle<true, scalar_t>(xc.data<scalar_t>(), logp.data<scalar_t>(), N, C, 1);
      kernels::cross_entropy_prob_forward(logp.data<scalar_t>(), q.data<scalar_t>(), weight_arg_.data<scalar_t>(),
                                          out.data<scalar_t>(), N, C);
    });
    if (recording()) saved_.reserve(5);
    logp_ = save(logp);
    q_ = save(q);
    weight_ = save(weight_arg_);
    // By handle: only a recorded backward reads them, to rebuild logp and q in ops.
    x_ = save(x);
    target_ = save(target);
    weight_arg_ = Tensor();
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor logp, q, w = saved(weight_);
    if (is_grad_enabled()) {
      logp = log_softmax(saved(x_), 1);
      q = saved(target_);
      if (smoothing_ > 0) q = q * (1 - smoothing_) + smoothing_ / static_cast<double>(logp.shape()[1]);
    } else {
      logp = saved(logp_);
      q = saved(q_);
    }
    Tensor gcol = unsqueeze(g, 1);
    Tensor gx, gt;
    if (needs(0)) {
      Tensor wq = q * w;
      gx = gcol * (exp(logp) * sum(wq, {1}, true) - wq);
    }
    if (needs(1)) gt = neg(gcol * w * logp) * (1 - smoothing_);
    return {gx, gt};
  }
};

struct NllLoss : OpBase {
  static constexpr const char* kName = "NllLossBackward0";
  int64_t ignore_;
  int target_ = -1, weight_ = -1;
  Tensor weight_arg_;
  Shape shape_;
  NllLoss(int64_t ignore, Tensor weight) : ignore_(ignore), weight_arg_(std::move(weight)) {}
  Tensor forward(const Tensor& x, const Tensor& target) {
    int64_t N = x.shape()[0], C = x.shape()[1];
    shape_ = x.shape();
    Tensor tc = target.contiguous();
    const int64_t* t = tc.data<int64_t>();
    int64_t bad = kernels::first_bad_target(t, N, C, ignore_);
    if (bad >= 0)
      throw IndexError("nll_loss: target " + std::to_string(t[bad]) + " is out of bounds for " + std::to_string(C) +
                       " classes");
    Tensor xc = x.contiguous();
    Tensor out = make_tensor({N}, x.dtype());
    BP_DISPATCH_FLOATING(x.dtype(), "nll_loss", {
      kernels::nll_forward(xc.data<scalar_t>(), t, weight_arg_.data<scalar_t>(), out.data<scalar_t>(), N, C, ignore_);
    });
    target_ = save(tc);
    weight_ = save(weight_arg_);
    weight_arg_ = Tensor();
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor tc = saved(target_), weight = saved(weight_);
    Tensor dx = zeros(shape_, g.dtype());
    // A recorded backward scales the constant pattern (g = 1) by g in ops instead.
    Tensor gc = is_grad_enabled() ? ones(g.shape(), g.dtype()) : g.contiguous();
    int64_t N = shape_[0], C = shape_[1];
    const int64_t* t = tc.data<int64_t>();
    BP_DISPATCH_FLOATING(g.dtype(), "nll_loss_backward", {
      kernels::nll_backward(t, weight.data<scalar_t>(), gc.data<scalar_t>(), dx.data<scalar_t>(), N, C, ignore_);
    });
    if (is_grad_enabled()) return {unsqueeze(g, 1) * dx, Tensor()};
    return {dx, Tensor()};
  }
};

// Elementwise loss; weight and pos_weight are constants.
struct BceWithLogits : OpBase {
  static constexpr const char* kName = "BinaryCrossEntropyWithLogitsBackward0";
  Tensor weight_arg_, pos_weight_arg_;
  int x_ = -1, t_ = -1, weight_ = -1, pos_weight_ = -1;
  BceWithLogits(Tensor weight, Tensor pos_weight)
      : weight_arg_(std::move(weight)), pos_weight_arg_(std::move(pos_weight)) {}
  Tensor forward(const Tensor& x, const Tensor& target) {
    if (target.shape() != x.shape())
      throw ShapeError("binary_cross_entropy_with_logits: target size " + shape_str(target.shape()) +
                       " must be the same as input size " + shape_str(x.shape()));
    Tensor t = cast_raw(target, x.dtype());
    x_ = save(x);
    t_ = save(t);
    Tensor per = map_ternary(x, t, pos_weight_arg_, "binary_cross_entropy_with_logits", [](auto v, auto tv, auto pw) {
      using T = decltype(v);
      T log_weight = (pw - T(1)) * tv + T(1);
      return (T(1) - tv) * v + log_weight * (std::log1p(std::exp(-std::abs(v))) + std::max(-v, T(0)));
    });
    Tensor out = per * weight_arg_;
    weight_ = save(weight_arg_);
    pos_weight_ = save(pos_weight_arg_);
    weight_arg_ = pos_weight_arg_ = Tensor();
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor x = saved(x_), t = saved(t_), weight = saved(weight_), pos_weight = saved(pos_weight_);
    Tensor gw = g * weight;
    Tensor gx, gt;
    if (is_grad_enabled()) {
      // The same formulas in ops, for a recorded backward.
      if (needs(0)) gx = gw * (sigmoid(x) * (pos_weight * t + 1.0 - t) - pos_weight * t);
      if (needs(1)) {
        Tensor log_sigmoid = neg(log(exp(neg(abs(x))) + 1.0) + relu(neg(x)));
        gt = gw * neg(x + (pos_weight - 1.0) * log_sigmoid);
      }
      return {gx, gt};
    }
    if (needs(0))
      gx = gw * map_ternary(x, t, pos_weight, "bce_backward", [](auto v, auto tv, auto pw) {
             using T = decltype(v);
             T s = T(1) / (T(1) + std::exp(-v));
             return s * (pw * tv + T(1) - tv) - pw * tv;
           });
    if (needs(1))
      gt = gw * map_ternary(x, t, pos_weight, "bce_backward", [](auto v, auto, auto pw) {
             using T = decltype(v);
             T log_sigmoid = -(std::log1p(std::exp(-std::abs(v))) + std::max(-v, T(0)));
             return -(v + (pw - T(1)) * log_sigmoid);
           });
    return {gx, gt};
  }
};

// PyTorch's mean for class-index losses: the sum over samples divided by the total weight of the
// counted (not ignored) targets.
Tensor weighted_mean(const Tensor& per_sample, const Tensor& targets, const Tensor& weights, int64_t ignore_index) {
  std::vector<double> w = weights.to_vector();
  double denom = 0;
  for (int64_t t : targets.to_int_vector())
    if (t != ignore_index) denom += w[static_cast<size_t>(t)];
  return sum(per_sample) / denom;
}

Tensor reduce(const Tensor& per_sample, const std::string& reduction) {
  if (reduction == "sum") return sum(per_sample);
  if (reduction == "mean") return mean(per_sample);
  return per_sample;
}

}  // namespace

Tensor cross_entropy(const Tensor& input, const Tensor& target, const std::string& reduction, double label_smoothing,
                     int64_t ignore_index, const Tensor& weight) {
  check_reduction(reduction, "cross_entropy");
  if (!is_floating(input.dtype()))
    throw TypeError(std::string("cross_entropy: expected floating logits, got ") + dtype_name(input.dtype()));
  if (label_smoothing < 0 || label_smoothing > 1)
    throw ValueError("cross_entropy: label_smoothing must be between 0.0 and 1.0, got " + std::to_string(label_smoothing));
  if (input.dim() == 0) throw ShapeError("cross_entropy: input must have at least 1 dimension (classes)");
  bool indices = !is_floating(target.dtype());
  if (input.dim() == 1) {
    Tensor loss = cross_entropy(unsqueeze(input, 0), unsqueeze(target, 0), reduction, label_smoothing, ignore_index, weight);
    return reduction == "none" ? squeeze(loss, 0) : loss;
  }
  int64_t C = input.shape()[1];
  Tensor x2 = input, t2 = target;
  Shape per_shape;  // shape of the unreduced loss
  if (input.dim() > 2) {
    std::vector<int64_t> perm{0};
    for (int64_t d = 2; d < input.dim(); ++d) perm.push_back(d);
    perm.push_back(1);
    x2 = reshape(permute(input, perm), {-1, C});
    per_shape = input.shape();
    per_shape.erase(per_shape.begin() + 1);
    t2 = indices ? reshape(target, {-1}) : reshape(permute(target, perm), {-1, C});
  } else {
    per_shape = {input.shape()[0]};
  }
  Tensor w = class_weights(weight, C, input.dtype(), "cross_entropy");
  if (indices) {
    if (target.dtype() != DType::Int64)
      throw TypeError(std::string("cross_entropy: expected int64 class indices or floating class probabilities as "
                                  "target, got ") + dtype_name(target.dtype()));
    Shape expected = per_shape;
    if (target.shape() != expected)
      throw ShapeError("cross_entropy: expected target of shape " + shape_str(expected) + " for input of shape " +
                       shape_str(input.shape()) + ", got " + shape_str(target.shape()));
    Tensor per = record(CrossEntropyIndices(label_smoothing, ignore_index, w), x2, t2);
    if (reduction == "none") return reshape(per, per_shape);
    if (reduction == "sum") return sum(per);
    return weighted_mean(per, t2, w, ignore_index);
  }
  if (target.shape() != input.shape())
    throw ShapeError("cross_entropy: probability targets must have the input's shape " + shape_str(input.shape()) +
                     ", got " + shape_str(target.shape()));
  if (target.dtype() != input.dtype())
    throw TypeError(std::string("cross_entropy: expected target dtype ") + dtype_name(input.dtype()) + ", got " +
                    dtype_name(target.dtype()));
  Tensor per = record(CrossEntropyProbs(label_smoothing, w), x2, t2);
  if (reduction == "none") return reshape(per, per_shape);
  return reduce(per, reduction);
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const std::string& reduction, int64_t ignore_index,
                const Tensor& weight) {
  check_reduction(reduction, "nll_loss");
  if (input.dim() != 2 || target.dim() != 1 || target.shape()[0] != input.shape()[0])
    throw ShapeError("nll_loss: expected input (N, C) and target (N), got " + shape_str(input.shape()) + " and " +
                     shape_str(target.shape()));
  if (target.dtype() != DType::Int64)
    throw TypeError(std::string("nll_loss: expected int64 targets, got ") + dtype_name(target.dtype()));
  Tensor w = class_weights(weight, input.shape()[1], input.dtype(), "nll_loss");
  Tensor per = record(NllLoss(ignore_index, w), input, target);
  if (reduction != "mean") return reduce(per, reduction);
  return weighted_mean(per, target, w, ignore_index);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_reduction(reduction, "mse_loss");
  Tensor d = input - target;
  return reduce(d * d, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const std::string& reduction,
                                        const Tensor& weight, const Tensor& pos_weight) {
  check_reduction(reduction, "binary_cross_entropy_with_logits");
  if (!is_floating(input.dtype()))
    throw TypeError(std::string("binary_cross_entropy_with_logits: expected floating logits, got ") +
                    dtype_name(input.dtype()));
  Tensor w = weight.defined() ? cast_raw(weight, input.dtype()) : ones({}, input.dtype());
  Tensor pw = pos_weight.defined() ? cast_raw(pos_weight, input.dtype()) : ones({}, input.dtype());
  Tensor per = record(BceWithLogits(w.detach(), pw.detach()), input, target);
  return reduce(per, reduction);
}

}  // namespace backprop
