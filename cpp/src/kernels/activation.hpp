#pragma once
// Each activation's formula and derivative, written once. The plain ops (ops/activation.cpp)
// map these over tensors; the fused Linear+activation (ops/fused_linear.cpp) runs them over the
// GEMM output in place. Formulas follow PyTorch's, including NaN propagation.
//
// A functor Fn provides:
//   T f(T x) const                  the activation
//   T grad(T g, T s) const          the input gradient from the output gradient g and the saved s,
//                                   which is the output when kFromOutput, else the input
//   static constexpr int kCost      relative cost per element (an add is 1), for the grain size
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "parallel.hpp"

namespace backprop::kernels {

struct ReluFn {
  static constexpr bool kFromOutput = true;
  static constexpr int kCost = 1;
  template <class T>
  T f(T x) const {
    return x > T(0) ? x : (x != x ? x : T(0));
  }
  template <class T>
  T grad(T g, T y) const {
    return y > T(0) ? g : T(0);
  }
};

struct SigmoidFn {
  static constexpr bool kFromOutput = true;
  static constexpr int kCost = 8;
  template <class T>
  T f(T x) const {
    return T(1) / (T(1) + std::exp(-x));
  }
  template <class T>
  T grad(T g, T y) const {
    return g * (T(1) - y) * y;
  }
};

struct TanhFn {
  static constexpr bool kFromOutput = true;
  static constexpr int kCost = 8;
  template <class T>
  T f(T x) const {
    return std::tanh(x);
  }
  template <class T>
  T grad(T g, T y) const {
    return g * (T(1) - y * y);
  }
};

struct LeakyReluFn {
  static constexpr bool kFromOutput = false;
  static constexpr int kCost = 1;
  double slope;
  template <class T>
  T f(T x) const {
    return x > T(0) ? x : x * static_cast<T>(slope);
  }
  template <class T>
  T grad(T g, T x) const {
    return x > T(0) ? g : g * static_cast<T>(slope);
  }
};

// Exact GELU, x * Phi(x).
struct GeluFn {
  static constexpr bool kFromOutput = false;
  static constexpr int kCost = 8;
  template <class T>
  T f(T x) const {
    return x * T(0.5) * (T(1) + std::erf(x * static_cast<T>(M_SQRT1_2)));
  }
  template <class T>
  T grad(T g, T x) const {
    const T alpha = static_cast<T>(M_2_SQRTPI * M_SQRT1_2 * 0.5);
    T cdf = T(0.5) * (T(1) + std::erf(x * static_cast<T>(M_SQRT1_2)));
    T pdf = alpha * std::exp(T(-0.5) * x * x);
    return g * (cdf + x * pdf);
  }
};

// GELU's tanh approximation.
struct GeluTanhFn {
  static constexpr bool kFromOutput = false;
  static constexpr int kCost = 8;
  template <class T>
  static T beta() {
    return static_cast<T>(M_SQRT2 * M_2_SQRTPI * 0.5);
  }
  template <class T>
  T f(T x) const {
    const T kappa = static_cast<T>(0.044715);
    T inner = beta<T>() * (x + kappa * x * x * x);
    return T(0.5) * x * (T(1) + std::tanh(inner));
  }
  template <class T>
  T grad(T g, T x) const {
    const T kappa = static_cast<T>(0.044715);
    T x_sq = x * x, x_cube = x_sq * x;
    T tanh_inner = std::tanh(beta<T>() * (x + kappa * x_cube));
    T left = T(0.5) * x, right = T(1) + tanh_inner;
    T left_derivative = T(0.5) * right;
    T right_derivative = left * (T(1) - tanh_inner * tanh_inner) * beta<T>() * (T(1) + T(3) * kappa * x_sq);
    return g * (left_derivative + right_derivative);
  }
};

// log(1 + exp(beta x)) / beta, linear above the threshold.
struct SoftplusFn {
  static constexpr bool kFromOutput = false;
  static constexpr int kCost = 8;
  double beta, threshold;
  template <class T>
  T f(T x) const {
    T bx = x * static_cast<T>(beta);
    return bx > static_cast<T>(threshold) ? x : static_cast<T>(std::log1p(std::exp(bx)) / static_cast<T>(beta));
  }
  template <class T>
  T grad(T g, T x) const {
    T z = std::exp(x * static_cast<T>(beta));
    return (x * static_cast<T>(beta)) > static_cast<T>(threshold) ? g : g * z / (z + T(1));
  }
};

/// y[i] = fn.f(y[i]) over a contiguous buffer.
template <class Fn, class T>
void activate_inplace(const Fn& fn, T* y, int64_t n) {
  parallel_for(n, Fn::kCost, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = fn.f(y[i]);
  });
}

/// d[i] = fn.grad(g[i], s[i]) over contiguous buffers (s: the saved output or input).
template <class Fn, class T>
void activation_grad(const Fn& fn, const T* g, const T* s, T* d, int64_t n) {
  parallel_for(n, std::max(2, Fn::kFromOutput ? 2 : Fn::kCost), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) d[i] = fn.grad(g[i], s[i]);
  });
}

}  // namespace backprop::kernels
