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
//   static constexpr bool kVectorised  (optional) f and grad are written with vm:: functions and
//                                   operators only, so they also compile for vector types:
//                                   kernels/vmath_avx2.cpp and vmath_avx512.cpp instantiate them
//                                   on 256- and 512-bit vectors for the dense loops.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "cpu_dispatch.hpp"
#include "parallel.hpp"
#include "vmath.hpp"
#include "vmath_kernels.hpp"

namespace backprop::kernels {

struct ReluFn {
  static constexpr bool kFromOutput = true;
  static constexpr bool kVectorised = false;
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
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 8;
  template <class T>
  T f(T x) const {
    return vm::sigmoid(x);
  }
  template <class T>
  T grad(T g, T y) const {
    using S = vm::elem_t<T>;
    return g * (S(1) - y) * y;
  }
};

struct TanhFn {
  static constexpr bool kFromOutput = true;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 8;
  template <class T>
  T f(T x) const {
    return vm::tanh(x);
  }
  template <class T>
  T grad(T g, T y) const {
    using S = vm::elem_t<T>;
    return g * (S(1) - y * y);
  }
};

struct LeakyReluFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = false;
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

// Exact GELU, x * Phi(x). float32 vectors take Phi directly (vm::detail::normal_cdf_f32, one
// exponential for the forward and the backward); scalars and float64 lanes go through erf.
struct GeluFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 8;
  template <class T>
  T f(T x) const {
    using S = vm::elem_t<T>;
    if constexpr (vm::is_vec_v<T> && sizeof(S) == 4) {
      T gauss;
      return x * vm::detail::normal_cdf_f32(x, gauss);
    } else {
      return x * S(0.5) * (S(1) + vm::erf(x * S(M_SQRT1_2)));
    }
  }
  template <class T>
  T grad(T g, T x) const {
    using S = vm::elem_t<T>;
    const S inv_sqrt_2pi = S(M_2_SQRTPI * M_SQRT1_2 * 0.5);
    if constexpr (vm::is_vec_v<T> && sizeof(S) == 4) {
      T gauss;
      T cdf = vm::detail::normal_cdf_f32(x, gauss);
      return g * (cdf + x * (inv_sqrt_2pi * gauss));
    } else {
      T cdf = S(0.5) * (S(1) + vm::erf(x * S(M_SQRT1_2)));
      T pdf = inv_sqrt_2pi * vm::exp(S(-0.5) * x * x);
      return g * (cdf + x * pdf);
    }
  }
};

// GELU's tanh approximation.
struct GeluTanhFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 8;
  template <class S>
  static S beta() {
    return S(M_SQRT2 * M_2_SQRTPI * 0.5);
  }
  template <class T>
  T f(T x) const {
    using S = vm::elem_t<T>;
    const S kappa = S(0.044715);
    T inner = beta<S>() * (x + kappa * x * x * x);
    return S(0.5) * x * (S(1) + vm::tanh(inner));
  }
  template <class T>
  T grad(T g, T x) const {
    using S = vm::elem_t<T>;
    const S kappa = S(0.044715);
    T x_sq = x * x, x_cube = x_sq * x;
    T tanh_inner = vm::tanh(beta<S>() * (x + kappa * x_cube));
    T left = S(0.5) * x, right = S(1) + tanh_inner;
    T left_derivative = S(0.5) * right;
    T right_derivative = left * (S(1) - tanh_inner * tanh_inner) * beta<S>() * (S(1) + S(3) * kappa * x_sq);
    return g * (left_derivative + right_derivative);
  }
};

// log(1 + exp(beta x)) / beta, linear above the threshold.
struct SoftplusFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 8;
  double beta, threshold;
  template <class T>
  T f(T x) const {
    using S = vm::elem_t<T>;
    T bx = x * S(beta);
    return vm::select(bx > S(threshold), x, T(vm::log1p(vm::exp(bx)) / S(beta)));
  }
  template <class T>
  T grad(T g, T x) const {
    using S = vm::elem_t<T>;
    T bx = x * S(beta);
    T z = vm::exp(bx);
    return vm::select(bx > S(threshold), g, T(g * z / (z + S(1))));
  }
};

// exp and log, for the plain ops in ops/unary.cpp (their backward is recorded with
// differentiable ops, so grad here serves the kernel tests and the table only).
struct ExpFn {
  static constexpr bool kFromOutput = true;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 4;
  template <class T>
  T f(T x) const {
    return vm::exp(x);
  }
  template <class T>
  T grad(T g, T y) const {
    return g * y;
  }
};

struct LogFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 4;
  template <class T>
  T f(T x) const {
    return vm::log(x);
  }
  template <class T>
  T grad(T g, T x) const {
    return g / x;
  }
};

/// y[i] = fn.f(x[i]) over contiguous buffers (x may equal y); the ISA's vector loop where the
/// functor has one, else the scalar form.
template <class Fn, class T>
void activation_forward(const Fn& fn, const T* x, T* y, int64_t n) {
  if constexpr (Fn::kVectorised) {
    auto k = vec_kernels_for<Fn, T>(active_isa());
    if (k.f != nullptr) {
      parallel_for(n, Fn::kCost, [&](int64_t b, int64_t e) { k.f(fn, x + b, y + b, e - b); });
      return;
    }
  }
  parallel_for(n, Fn::kCost, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) y[i] = fn.f(x[i]);
  });
}

/// y[i] = fn.f(y[i]) over a contiguous buffer.
template <class Fn, class T>
void activate_inplace(const Fn& fn, T* y, int64_t n) {
  activation_forward(fn, y, y, n);
}

/// d[i] = fn.grad(g[i], s[i]) over contiguous buffers (s: the saved output or input); with
/// g_scalar every element reads g[0] (an expanded gradient, as sum() hands back).
template <class Fn, class T>
void activation_grad(const Fn& fn, const T* g, const T* s, T* d, int64_t n, bool g_scalar = false) {
  const int64_t cost = std::max(2, Fn::kFromOutput ? 2 : Fn::kCost);
  if constexpr (Fn::kVectorised) {
    auto k = vec_kernels_for<Fn, T>(active_isa());
    if (k.grad != nullptr) {
      parallel_for(n, cost, [&](int64_t b, int64_t e) {
        k.grad(fn, g_scalar ? g : g + b, g_scalar, s + b, d + b, e - b);
      });
      return;
    }
  }
  parallel_for(n, cost, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) d[i] = fn.grad(g[g_scalar ? 0 : i], s[i]);
  });
}

}  // namespace backprop::kernels
