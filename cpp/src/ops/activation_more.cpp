// hardtanh/relu6, elu/selu/celu, silu, mish, hardswish, hardsigmoid, softsign, tanhshrink,
// logsigmoid (formulas in kernels/activation_more.hpp), prelu and glu (compositions), and the
// in-place forms behind PyTorch's inplace=True.
#include <cmath>
#include <type_traits>

#include "../kernels/activation_more.hpp"
#include "../tensor_utils.hpp"
#include "backprop/autograd.hpp"
#include "derivative_more.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

Tensor floating(const Tensor& x) { return is_floating(x.dtype()) ? x : cast_raw(x, DType::Float32); }

// One functor mapped forward, and its derivative as one fused pass over (grad, input) backward;
// a recorded backward (create_graph) writes the derivative in ops instead, to be differentiated.
template <class Fn>
struct PointwiseActivation : OpBase {
  Fn fn_;
  const char* op_;
  int slot_ = -1;
  PointwiseActivation(Fn fn, const char* op) : fn_(fn), op_(op) {}
  Tensor forward(const Tensor& x) {
    Tensor out = map_activation(fn_, floating(x), op_);
    slot_ = save(Fn::kFromOutput ? out : x);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Fn fn = fn_;
    Tensor s = saved(slot_);
    if (is_grad_enabled()) return {derivative::grad(fn, g, is_floating(s.dtype()) ? s : cast_raw(s, g.dtype()))};
    if (Tensor d = map_activation_grad(fn, g, s, op_); d.defined()) return {d};
    if (!is_floating(s.dtype())) s = cast_raw(s, g.dtype());
    return {map_binary(g, s, g.dtype(), op_, [fn](auto gv, auto sv) {
      if constexpr (std::is_floating_point_v<decltype(gv)>)
        return fn.grad(gv, sv);
      else
        return gv;
    })};
  }
};

#define BP_ACTIVATION_OP(Name, Fn, Backward)          \
  struct Name : PointwiseActivation<kernels::Fn> {    \
    static constexpr const char* kName = Backward;    \
    using PointwiseActivation::PointwiseActivation;   \
  };
BP_ACTIVATION_OP(Hardtanh, HardtanhFn, "HardtanhBackward0")
BP_ACTIVATION_OP(Elu, EluFn, "EluBackward0")
BP_ACTIVATION_OP(Silu, SiluFn, "SiluBackward0")
BP_ACTIVATION_OP(Mish, MishFn, "MishBackward0")
BP_ACTIVATION_OP(Hardswish, HardswishFn, "HardswishBackward0")
BP_ACTIVATION_OP(Hardsigmoid, HardsigmoidFn, "HardsigmoidBackward0")
BP_ACTIVATION_OP(Softsign, SoftsignFn, "SoftsignBackward0")
BP_ACTIVATION_OP(Tanhshrink, TanhshrinkFn, "TanhshrinkBackward0")
BP_ACTIVATION_OP(LogSigmoid, LogSigmoidFn, "LogSigmoidBackward0")
#undef BP_ACTIVATION_OP

// SELU's constants, as PyTorch spells them.
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

kernels::EluFn celu_fn(double alpha) {
  if (alpha == 0.0) throw RuntimeError("celu: ZeroDivisionError: alpha must not be 0 (the negative part is x / alpha)");
  return {alpha, 1.0, 1.0 / alpha};
}

kernels::HardtanhFn hardtanh_fn(double min_val, double max_val) {
  if (min_val > max_val)
    throw ValueError("hardtanh: min_val cannot be greater than max_val (got min_val=" + std::to_string(min_val) +
                     ", max_val=" + std::to_string(max_val) + ")");
  return {min_val, max_val};
}

// Writes fn(x) into x. Without a graph to record the values are overwritten where they lie; a
// recorded write computes out of place and rebases x's history onto the result (assign_inplace
// bumps the version, so a tensor saved earlier from x raises when its backward runs). Ops whose
// backward reads the input run on a copy, as PyTorch keeps the original self of an in-place op.
template <class Fn, class OutOfPlace>
Tensor& activate_inplace(Tensor& x, const Fn& fn, const char* op, OutOfPlace out_of_place) {
  check_inplace(x, op);
  if (!is_floating(x.dtype()))
    throw TypeError(std::string(op) + ": in-place activation needs a floating tensor, got " + dtype_name(x.dtype()) +
                    "; use the out-of-place form, which computes integers in float32");
  bool recorded = is_grad_enabled() && x.requires_grad();
  if (!recorded && x.is_contiguous()) {
    BP_DISPATCH_FLOATING(x.dtype(), op, { kernels::activate_inplace(fn, x.data<scalar_t>(), x.numel()); });
    x.bump_version();
    return x;
  }
  Tensor src = (recorded && !Fn::kFromOutput) ? x.clone() : x;
  return assign_inplace(x, out_of_place(src), op);
}

}  // namespace

Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
  return record(Hardtanh(hardtanh_fn(min_val, max_val), "hardtanh"), x);
}
Tensor relu6(const Tensor& x) { return hardtanh(x, 0.0, 6.0); }
Tensor elu(const Tensor& x, double alpha) { return record(Elu({alpha, 1.0, 1.0}, "elu"), x); }
Tensor selu(const Tensor& x) { return record(Elu({kSeluAlpha, kSeluScale, 1.0}, "selu"), x); }
Tensor celu(const Tensor& x, double alpha) { return record(Elu(celu_fn(alpha), "celu"), x); }
Tensor silu(const Tensor& x) { return record(Silu({}, "silu"), x); }
Tensor mish(const Tensor& x) { return record(Mish({}, "mish"), x); }
Tensor hardswish(const Tensor& x) { return record(Hardswish({}, "hardswish"), x); }
Tensor hardsigmoid(const Tensor& x) { return record(Hardsigmoid({}, "hardsigmoid"), x); }
Tensor softsign(const Tensor& x) { return record(Softsign({}, "softsign"), x); }
Tensor tanhshrink(const Tensor& x) { return record(Tanhshrink({}, "tanhshrink"), x); }
Tensor logsigmoid(const Tensor& x) { return record(LogSigmoid({}, "logsigmoid"), x); }

// Composites: every part is differentiable, so both gradients (and higher ones) come for free.
Tensor prelu(const Tensor& x, const Tensor& weight) {
  if (!weight.defined()) throw TypeError("prelu: weight is undefined");
  if (weight.dim() > 1)
    throw ShapeError("prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = " +
                     std::to_string(weight.dim()));
  int64_t channels = x.dim() >= 2 ? x.shape()[1] : 1;
  if (weight.numel() != 1 && weight.numel() != channels)
    throw ShapeError("prelu: Mismatch of parameter numbers and input channel size. Found parameter numbers = " +
                     std::to_string(weight.numel()) + " and channel size = " + std::to_string(channels) +
                     " (input shape " + shape_str(x.shape()) + ")");
  // One slope for all, or one per channel (dim 1) broadcast over the dims after it.
  Shape wshape;
  if (weight.numel() != 1) {
    wshape.push_back(channels);
    for (int64_t d = 2; d < x.dim(); ++d) wshape.push_back(1);
  }
  Tensor w = reshape(weight, wshape);
  return where(gt(x, zeros({}, x.dtype())), x, w * x);
}

Tensor glu(const Tensor& x, int64_t dim) {
  if (x.dim() == 0) throw RuntimeError("glu does not support scalars because halving size must be even");
  int64_t d = wrap_dim(dim, x.dim(), "glu");
  if (x.shape()[d] % 2 != 0)
    throw RuntimeError("glu: Halving dimension must be even, but dimension " + std::to_string(d) + " is size " +
                       std::to_string(x.shape()[d]) + " (input shape " + shape_str(x.shape()) + ")");
  int64_t half = x.shape()[d] / 2;
  return narrow(x, d, 0, half) * sigmoid(narrow(x, d, half, half));
}

Tensor& relu_(Tensor& x) {
  return activate_inplace(x, kernels::ReluFn{}, "relu_", [](const Tensor& s) { return relu(s); });
}
Tensor& leaky_relu_(Tensor& x, double negative_slope) {
  return activate_inplace(x, kernels::LeakyReluFn{negative_slope}, "leaky_relu_",
                          [negative_slope](const Tensor& s) { return leaky_relu(s, negative_slope); });
}
Tensor& hardtanh_(Tensor& x, double min_val, double max_val) {
  return activate_inplace(x, hardtanh_fn(min_val, max_val), "hardtanh_",
                          [min_val, max_val](const Tensor& s) { return hardtanh(s, min_val, max_val); });
}
Tensor& relu6_(Tensor& x) { return hardtanh_(x, 0.0, 6.0); }
Tensor& elu_(Tensor& x, double alpha) {
  return activate_inplace(x, kernels::EluFn{alpha, 1.0, 1.0}, "elu_", [alpha](const Tensor& s) { return elu(s, alpha); });
}
Tensor& selu_(Tensor& x) {
  return activate_inplace(x, kernels::EluFn{kSeluAlpha, kSeluScale, 1.0}, "selu_", [](const Tensor& s) { return selu(s); });
}
Tensor& celu_(Tensor& x, double alpha) {
  return activate_inplace(x, celu_fn(alpha), "celu_", [alpha](const Tensor& s) { return celu(s, alpha); });
}
Tensor& silu_(Tensor& x) {
  return activate_inplace(x, kernels::SiluFn{}, "silu_", [](const Tensor& s) { return silu(s); });
}
Tensor& mish_(Tensor& x) {
  return activate_inplace(x, kernels::MishFn{}, "mish_", [](const Tensor& s) { return mish(s); });
}
Tensor& hardswish_(Tensor& x) {
  return activate_inplace(x, kernels::HardswishFn{}, "hardswish_", [](const Tensor& s) { return hardswish(s); });
}
Tensor& hardsigmoid_(Tensor& x) {
  return activate_inplace(x, kernels::HardsigmoidFn{}, "hardsigmoid_", [](const Tensor& s) { return hardsigmoid(s); });
}

// Dropout saves its mask, not its input, so the recorded write needs no copy.
Tensor& dropout_(Tensor& x, double p, bool training) {
  check_inplace(x, "dropout_");
  Tensor out = dropout(x, p, training);
  if (out.impl() == x.impl()) return x;  // eval mode or p == 0: nothing to write
  return assign_inplace(x, out, "dropout_");
}

}  // namespace backprop
