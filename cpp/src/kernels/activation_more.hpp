#pragma once
// The activations PyTorch users reach for after relu and gelu: the hard (piecewise-linear)
// family, the ELU family, SiLU, Mish, softsign, tanhshrink and log-sigmoid. Same functor contract
// as activation.hpp (f, grad, kFromOutput, kCost, kVectorised); the formulas and their branch
// conditions are PyTorch's, so float64 results agree to the last few ulps and NaN goes where it
// goes there.
#include <cmath>

#include "activation.hpp"
#include "vmath.hpp"

namespace backprop::kernels {

namespace detail {
// expm1 for both scalars (the C library) and vectors: u - 1 rescaled by x / log(u) recovers the
// digits that the subtraction cancels (Kahan), so ELU keeps its relative accuracy near 0.
template <class T>
T expm1_any(T x) {
  if constexpr (vm::is_vec_v<T>) {
    using S = vm::elem_t<T>;
    T u = vm::exp(x);
    T um1 = u - S(1);
    T scaled = um1 * (x / vm::log(u));
    T r = vm::select(um1 == S(0), x, scaled);
    r = vm::select(um1 == S(-1), T(um1), r);
    r = vm::select(u == std::numeric_limits<S>::infinity(), u, r);
    return vm::select(x != x, x, r);
  } else {
    return std::expm1(x);
  }
}

// log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)).
template <class T>
T softplus_any(T x) {
  using S = vm::elem_t<T>;
  T zero = vm::splat<T>(S(0));
  return vm::select(x > S(0), x, zero) + vm::log1p(vm::exp(zero - vm::abs(x)));
}
}  // namespace detail

/// min(max(x, lo), hi); the gradient passes strictly inside (lo, hi). relu6 is (0, 6).
struct HardtanhFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = false;
  static constexpr int kCost = 1;
  double lo, hi;
  template <class T>
  T f(T x) const {
    if (x != x) return x;
    return x < T(lo) ? T(lo) : (x > T(hi) ? T(hi) : x);
  }
  template <class T>
  T grad(T g, T x) const {
    return (x <= T(lo) || x >= T(hi)) ? T(0) : g;
  }
};

/// scale * x for x > 0, alpha * scale * expm1(input_scale * x) otherwise: ELU (scale 1,
/// input_scale 1), SELU (its fixed alpha and scale) and CELU (input_scale 1 / alpha).
struct EluFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 8;
  double alpha, scale, input_scale;
  template <class T>
  T f(T x) const {
    using S = vm::elem_t<T>;
    T neg = detail::expm1_any(T(x * S(input_scale))) * S(alpha * scale);
    return vm::select(x <= S(0), neg, T(x * S(scale)));
  }
  template <class T>
  T grad(T g, T x) const {
    using S = vm::elem_t<T>;
    T neg = g * S(input_scale) * S(alpha * scale) * vm::exp(x * S(input_scale));
    return vm::select(x <= S(0), neg, T(g * S(scale)));
  }
};

/// x * sigmoid(x).
struct SiluFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 8;
  template <class T>
  T f(T x) const {
    return x * vm::sigmoid(x);
  }
  template <class T>
  T grad(T g, T x) const {
    using S = vm::elem_t<T>;
    T s = vm::sigmoid(x);
    return g * s * (S(1) + x * (S(1) - s));
  }
};

/// x * tanh(softplus(x)).
struct MishFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 16;
  template <class T>
  T f(T x) const {
    return x * vm::tanh(detail::softplus_any(x));
  }
  template <class T>
  T grad(T g, T x) const {
    using S = vm::elem_t<T>;
    T t = vm::tanh(detail::softplus_any(x));
    return g * (t + x * vm::sigmoid(x) * (S(1) - t * t));
  }
};

/// x * min(max(x + 3, 0), 6) / 6. The gradient at the kinks is PyTorch's: 0 at -3, 1 at 3.
struct HardswishFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = false;
  static constexpr int kCost = 1;
  template <class T>
  T f(T x) const {
    return x * std::min(std::max(x + T(3), T(0)), T(6)) / T(6);
  }
  template <class T>
  T grad(T g, T x) const {
    if (x <= T(-3)) return T(0);
    return x < T(3) ? g * (x / T(3) + T(0.5)) : g;
  }
};

/// min(max(x + 3, 0), 6) / 6.
struct HardsigmoidFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = false;
  static constexpr int kCost = 1;
  template <class T>
  T f(T x) const {
    return std::min(std::max(x + T(3), T(0)), T(6)) / T(6);
  }
  // PyTorch's slope is the float32 1/6 in every dtype; float64 results match it that way.
  template <class T>
  T grad(T g, T x) const {
    return (x > T(-3) && x < T(3)) ? g * T(1.0f / 6.0f) : T(0);
  }
};

/// x / (1 + |x|).
struct SoftsignFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 2;
  template <class T>
  T f(T x) const {
    using S = vm::elem_t<T>;
    return x / (vm::abs(x) + S(1));
  }
  template <class T>
  T grad(T g, T x) const {
    using S = vm::elem_t<T>;
    T d = vm::abs(x) + S(1);
    return g / (d * d);
  }
};

/// x - tanh(x).
struct TanhshrinkFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 8;
  template <class T>
  T f(T x) const {
    return x - vm::tanh(x);
  }
  template <class T>
  T grad(T g, T x) const {
    T t = vm::tanh(x);
    return g * t * t;
  }
};

/// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)), finite for every finite x.
struct LogSigmoidFn {
  static constexpr bool kFromOutput = false;
  static constexpr bool kVectorised = true;
  static constexpr int kCost = 8;
  template <class T>
  T f(T x) const {
    using S = vm::elem_t<T>;
    T zero = vm::splat<T>(S(0));
    return vm::select(x < S(0), x, zero) - vm::log1p(vm::exp(zero - vm::abs(x)));
  }
  // sigmoid(-x), written through z = exp(-|x|) as PyTorch does.
  template <class T>
  T grad(T g, T x) const {
    using S = vm::elem_t<T>;
    T zero = vm::splat<T>(S(0));
    T z = vm::exp(zero - vm::abs(x));
    T q = z / (S(1) + z);
    return g * vm::select(x < S(0), T(S(1) - q), q);
  }
};

}  // namespace backprop::kernels
