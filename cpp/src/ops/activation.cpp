// relu, leaky_relu, sigmoid, tanh, gelu, softplus. Formulas and derivatives live once in
// kernels/activation.hpp (shared with the fused Linear+activation); each backward is one fused
// pass over (grad, saved) that yields the input gradient directly.
#include <cmath>
#include <type_traits>

#include "../kernels/activation.hpp"
#include "derivative.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

Tensor floating(const Tensor& x) { return is_floating(x.dtype()) ? x : cast_raw(x, DType::Float32); }

// Saves the output or the input, whichever the functor's derivative reads.
template <class Fn>
struct ActivationOp : OpBase {
  Fn fn_;
  const char* op_;
  int slot_ = -1;
  ActivationOp(Fn fn, const char* op) : fn_(fn), op_(op) {}
  Tensor forward(const Tensor& x) {
    Fn fn = fn_;
    Tensor out = map_activation(fn, floating(x), op_);
    slot_ = save(Fn::kFromOutput ? out : x);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Fn fn = fn_;
    if (is_grad_enabled()) return {g * derivative::of(fn, saved(slot_))};
    if (Tensor d = map_activation_grad(fn, g, saved(slot_), op_); d.defined()) return {d};
    // Gradients are floating; the constexpr branch keeps the dispatcher's other dtypes from
    // instantiating the formulas.
    return {map_binary(g, saved(slot_), g.dtype(), op_, [fn](auto gv, auto s) {
      if constexpr (std::is_floating_point_v<decltype(gv)>)
        return fn.grad(gv, s);
      else
        return gv;
    })};
  }
};

struct NormalCdf : OpBase {
  static constexpr const char* kName = "NormalCdfBackward0";
  int x_ = -1;
  Tensor forward(const Tensor& x) {
    x_ = save(x);
    return map_unary(x, "normal_cdf", [](auto v) { return static_cast<decltype(v)>(0.5 * std::erfc(-v * M_SQRT1_2)); });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor x = saved(x_);
    return {g * (exp(x * x * -0.5) * (M_2_SQRTPI * M_SQRT1_2 * 0.5))};
  }
};

struct Relu : ActivationOp<kernels::ReluFn> {
  static constexpr const char* kName = "ReluBackward0";
  Relu() : ActivationOp({}, "relu") {}
};
struct LeakyRelu : ActivationOp<kernels::LeakyReluFn> {
  static constexpr const char* kName = "LeakyReluBackward0";
  explicit LeakyRelu(double slope) : ActivationOp({slope}, "leaky_relu") {}
};
struct Sigmoid : ActivationOp<kernels::SigmoidFn> {
  static constexpr const char* kName = "SigmoidBackward0";
  Sigmoid() : ActivationOp({}, "sigmoid") {}
};
struct Tanh : ActivationOp<kernels::TanhFn> {
  static constexpr const char* kName = "TanhBackward0";
  Tanh() : ActivationOp({}, "tanh") {}
};
struct Gelu : ActivationOp<kernels::GeluFn> {
  static constexpr const char* kName = "GeluBackward0";
  Gelu() : ActivationOp({}, "gelu") {}
};
struct GeluTanh : ActivationOp<kernels::GeluTanhFn> {
  static constexpr const char* kName = "GeluBackward0";
  GeluTanh() : ActivationOp({}, "gelu") {}
};
struct Softplus : ActivationOp<kernels::SoftplusFn> {
  static constexpr const char* kName = "SoftplusBackward0";
  Softplus(double beta, double threshold) : ActivationOp({beta, threshold}, "softplus") {}
};

}  // namespace

Tensor normal_cdf(const Tensor& x) { return record(NormalCdf{}, x); }
Tensor relu(const Tensor& x) { return record(Relu{}, x); }
Tensor leaky_relu(const Tensor& x, double negative_slope) { return record(LeakyRelu(negative_slope), x); }
Tensor sigmoid(const Tensor& x) { return record(Sigmoid{}, x); }
Tensor tanh(const Tensor& x) { return record(Tanh{}, x); }
Tensor softplus(const Tensor& x, double beta, double threshold) { return record(Softplus(beta, threshold), x); }

Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate != "none" && approximate != "tanh")
    throw ValueError("gelu: approximate must be 'none' or 'tanh', got '" + approximate + "'");
  if (approximate == "tanh") return record(GeluTanh{}, x);
  return record(Gelu{}, x);
}

}  // namespace backprop
