// relu, leaky_relu, sigmoid, tanh, gelu, softplus. Each backward is one fused pass over
// (grad, saved) that yields the input gradient directly.
#include <cmath>

#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

Tensor floating(const Tensor& x) { return is_floating(x.dtype()) ? x : cast_raw(x, DType::Float32); }

struct Relu : OpBase {
  static constexpr const char* kName = "ReluBackward0";
  int out_ = -1;
  Tensor forward(const Tensor& x) {
    Tensor out = map_unary(floating(x), "relu", [](auto v) { return v > 0 ? v : (v != v ? v : decltype(v)(0)); });
    out_ = save(out);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {map_binary(g, saved(out_), g.dtype(), "relu_backward",
                       [](auto gv, auto y) { return y > 0 ? gv : decltype(gv)(0); })};
  }
};

struct LeakyRelu : OpBase {
  static constexpr const char* kName = "LeakyReluBackward0";
  double slope_;
  int x_ = -1;
  explicit LeakyRelu(double slope) : slope_(slope) {}
  Tensor forward(const Tensor& x) {
    x_ = save(x);
    double s = slope_;
    return map_unary(floating(x), "leaky_relu", [s](auto v) { return v > 0 ? v : v * static_cast<decltype(v)>(s); });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    double s = slope_;
    return {map_binary(g, saved(x_), g.dtype(), "leaky_relu_backward",
                       [s](auto gv, auto v) { return v > 0 ? gv : gv * static_cast<decltype(gv)>(s); })};
  }
};

struct Sigmoid : OpBase {
  static constexpr const char* kName = "SigmoidBackward0";
  int out_ = -1;
  Tensor forward(const Tensor& x) {
    Tensor out = map_unary(floating(x), "sigmoid", [](auto v) {
      using T = decltype(v);
      return T(1) / (T(1) + std::exp(-v));
    });
    out_ = save(out);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {map_binary(g, saved(out_), g.dtype(), "sigmoid_backward",
                       [](auto gv, auto y) { return gv * (decltype(gv)(1) - y) * y; })};
  }
};

struct Tanh : OpBase {
  static constexpr const char* kName = "TanhBackward0";
  int out_ = -1;
  Tensor forward(const Tensor& x) {
    Tensor out = map_unary(floating(x), "tanh", [](auto v) { return std::tanh(v); });
    out_ = save(out);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {map_binary(g, saved(out_), g.dtype(), "tanh_backward",
                       [](auto gv, auto y) { return gv * (decltype(gv)(1) - y * y); })};
  }
};

struct Gelu : OpBase {
  static constexpr const char* kName = "GeluBackward0";
  bool tanh_approx_;
  int x_ = -1;
  explicit Gelu(bool tanh_approx) : tanh_approx_(tanh_approx) {}
  Tensor forward(const Tensor& x) {
    x_ = save(x);
    if (tanh_approx_)
      return map_unary(floating(x), "gelu", [](auto v) {
        using T = decltype(v);
        const T beta = static_cast<T>(M_SQRT2 * M_2_SQRTPI * 0.5), kappa = static_cast<T>(0.044715);
        T inner = beta * (v + kappa * v * v * v);
        return T(0.5) * v * (T(1) + std::tanh(inner));
      });
    return map_unary(floating(x), "gelu", [](auto v) {
      using T = decltype(v);
      return v * T(0.5) * (T(1) + std::erf(v * static_cast<T>(M_SQRT1_2)));
    });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    if (tanh_approx_)
      return {map_binary(g, saved(x_), g.dtype(), "gelu_backward", [](auto gv, auto v) {
        using T = decltype(gv);
        const T beta = static_cast<T>(M_SQRT2 * M_2_SQRTPI * 0.5), kappa = static_cast<T>(0.044715);
        T x_sq = v * v, x_cube = x_sq * v;
        T tanh_inner = std::tanh(beta * (v + kappa * x_cube));
        T left = T(0.5) * v, right = T(1) + tanh_inner;
        T left_derivative = T(0.5) * right;
        T right_derivative = left * (T(1) - tanh_inner * tanh_inner) * beta * (T(1) + T(3) * kappa * x_sq);
        return gv * (left_derivative + right_derivative);
      })};
    return {map_binary(g, saved(x_), g.dtype(), "gelu_backward", [](auto gv, auto v) {
      using T = decltype(gv);
      const T alpha = static_cast<T>(M_2_SQRTPI * M_SQRT1_2 * 0.5);
      T cdf = T(0.5) * (T(1) + std::erf(v * static_cast<T>(M_SQRT1_2)));
      T pdf = alpha * std::exp(T(-0.5) * v * v);
      return gv * (cdf + v * pdf);
    })};
  }
};

struct Softplus : OpBase {
  static constexpr const char* kName = "SoftplusBackward0";
  double beta_, threshold_;
  int x_ = -1;
  Softplus(double beta, double threshold) : beta_(beta), threshold_(threshold) {}
  Tensor forward(const Tensor& x) {
    x_ = save(x);
    double b = beta_, t = threshold_;
    return map_unary(floating(x), "softplus", [b, t](auto v) {
      using T = decltype(v);
      T bx = v * static_cast<T>(b);
      return bx > static_cast<T>(t) ? v : static_cast<T>(std::log1p(std::exp(bx)) / static_cast<T>(b));
    });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    double b = beta_, t = threshold_;
    return {map_binary(g, saved(x_), g.dtype(), "softplus_backward", [b, t](auto gv, auto v) {
      using T = decltype(gv);
      T z = std::exp(v * static_cast<T>(b));
      return (v * static_cast<T>(b)) > static_cast<T>(t) ? gv : gv * z / (z + T(1));
    })};
  }
};

}  // namespace

Tensor relu(const Tensor& x) { return record(Relu{}, x); }
Tensor leaky_relu(const Tensor& x, double negative_slope) { return record(LeakyRelu(negative_slope), x); }
Tensor sigmoid(const Tensor& x) { return record(Sigmoid{}, x); }
Tensor tanh(const Tensor& x) { return record(Tanh{}, x); }
Tensor softplus(const Tensor& x, double beta, double threshold) { return record(Softplus(beta, threshold), x); }

Tensor gelu(const Tensor& x, const std::string& approximate) {
  if (approximate != "none" && approximate != "tanh")
    throw ValueError("gelu: approximate must be 'none' or 'tanh', got '" + approximate + "'");
  return record(Gelu(approximate == "tanh"), x);
}

}  // namespace backprop
