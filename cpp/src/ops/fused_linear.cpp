// act(x @ W^T + b) as one op: the bias seeds the GEMM output, the activation runs over the
// output while it is still in cache, and backward turns the incoming gradient into the
// pre-activation gradient in one pass before the two GEMMs.
#include "../kernels/activation.hpp"
#include "../kernels/gemm.hpp"
#include "derivative.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

enum class Activation { Relu, Tanh, Sigmoid };

Activation parse_activation(const std::string& name) {
  if (name == "relu") return Activation::Relu;
  if (name == "tanh") return Activation::Tanh;
  if (name == "sigmoid") return Activation::Sigmoid;
  throw ValueError("linear_activation: activation must be 'relu', 'tanh' or 'sigmoid', got '" + name + "'");
}

// Calls f with the functor of `act` (kernels/activation.hpp, shared with the plain ops).
template <class F>
void with_functor(Activation act, F&& f) {
  switch (act) {
    case Activation::Relu:
      return f(kernels::ReluFn{});
    case Activation::Tanh:
      return f(kernels::TanhFn{});
    case Activation::Sigmoid:
      return f(kernels::SigmoidFn{});
  }
}

struct LinearActivation : OpBase {
  static constexpr const char* kName = "LinearActivationBackward0";
  Activation act_;
  int x_ = -1, w_ = -1, out_ = -1;
  explicit LinearActivation(Activation act) : act_(act) {}

  Tensor forward(const Tensor& x, const Tensor& w, const Tensor& bias) {
    Tensor out = linear(x, w, bias);  // 2-D x; the bias seeds the GEMM output
    BP_DISPATCH_FLOATING(out.dtype(), "linear_activation", {
      scalar_t* y = out.data<scalar_t>();
      with_functor(act_, [&](auto fn) { kernels::activate_inplace(fn, y, out.numel()); });
    });
    if (needs(1)) x_ = save(x);
    if (needs(0)) w_ = save(w);
    out_ = save(out);
    return out;
  }

  std::vector<Tensor> backward(const Tensor& g) {
    Tensor y = saved(out_);
    if (is_grad_enabled()) return differentiable_backward(g, y);
    Tensor gc = g.contiguous();
    Tensor pre = make_tensor(y.shape(), y.dtype());
    BP_DISPATCH_FLOATING(y.dtype(), "linear_activation_backward", {
      const scalar_t *gp = gc.data<scalar_t>(), *yp = y.data<scalar_t>();
      scalar_t* d = pre.data<scalar_t>();
      with_functor(act_, [&](auto fn) { kernels::activation_grad(fn, gp, yp, d, y.numel()); });
    });
    int64_t M = pre.shape()[0], N = pre.shape()[1];
    Tensor gx, gw, gb;
    BP_DISPATCH_FLOATING(y.dtype(), "linear_activation_backward", {
      const scalar_t* P = pre.data<scalar_t>();
      if (needs(0)) {
        Tensor w = saved(w_);
        int64_t K = w.shape()[1];
        gx = make_tensor({M, K}, y.dtype());
        kernels::gemm<scalar_t>(M, K, N, P, N, 1, w.data<scalar_t>(), w.strides()[0], w.strides()[1],
                                gx.data<scalar_t>(), K, false);
      }
      if (needs(1)) {
        Tensor x = saved(x_);
        int64_t K = x.shape()[1];
        gw = make_tensor({N, K}, y.dtype());
        kernels::gemm<scalar_t>(N, K, M, P, 1, N, x.data<scalar_t>(), x.strides()[0], x.strides()[1],
                                gw.data<scalar_t>(), K, false);
      }
    });
    if (needs(2)) gb = sum(pre, {0});
    return {gx, gw, gb};
  }

  // Recorded backward (create_graph): the composite of differentiable ops instead of the fused
  // pass; y is the output with this node as grad_fn.
  std::vector<Tensor> differentiable_backward(const Tensor& g, const Tensor& y) {
    Tensor pre;
    with_functor(act_, [&](auto fn) { pre = g * derivative::of(fn, y); });
    Tensor gx, gw, gb;
    if (needs(0)) gx = matmul(pre, saved(w_));
    if (needs(1)) gw = matmul(pre.t(), saved(x_));
    if (needs(2)) gb = sum(pre, {0});
    return {gx, gw, gb};
  }
};

}  // namespace

Tensor linear_activation(const Tensor& x, const Tensor& weight, const Tensor& bias, const std::string& activation) {
  Activation act = parse_activation(activation);
  if (x.dim() < 1 || weight.dim() != 2) return linear(x, weight, bias);  // linear() raises the shape error
  Tensor x2 = x.dim() == 2 ? x : reshape(x, {-1, x.shape().back()});
  if (x2.shape()[1] != weight.shape()[1]) return linear(x, weight, bias);
  Tensor out = record(LinearActivation(act), x2, weight, bias);
  if (x.dim() == 2) return out;
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(weight.shape()[0]);
  return reshape(out, out_shape);
}

}  // namespace backprop
