#pragma once
// The body of vmath_avx2.cpp and vmath_avx512.cpp: BP_VMATH_NS names the ISA's namespace and
// BP_VMATH_BYTES its vector width. Only vector types are instantiated here, so no inline scalar
// function compiled with the ISA's flags can be chosen by the linker for portable code.
#include <cstring>

#include "activation.hpp"
#include "activation_more.hpp"
#include "vmath_kernels.hpp"

namespace backprop::kernels::BP_VMATH_NS {
namespace {

// flatten: the approximations must inline into the loop, or every vector pays a call and the
// spills of the constants around it (GCC left exp_reduced out of line, costing up to 2x).
template <class Fn, class T>
__attribute__((flatten)) void forward(const Fn& fn, const T* x, T* y, int64_t n) {
  constexpr int64_t W = BP_VMATH_BYTES / sizeof(T);
  using V = typename vm::vec<T, W>::type;
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    V a, b;
    std::memcpy(&a, x + i, sizeof(V));
    std::memcpy(&b, x + i + W, sizeof(V));
    a = fn.f(a);
    b = fn.f(b);
    std::memcpy(y + i, &a, sizeof(V));
    std::memcpy(y + i + W, &b, sizeof(V));
  }
  for (; i < n; i += W) {
    // The tail runs padded through the same vector code, so every element sees one formula.
    size_t bytes = static_cast<size_t>(n - i < W ? n - i : W) * sizeof(T);
    V a = {};
    std::memcpy(&a, x + i, bytes);
    a = fn.f(a);
    std::memcpy(y + i, &a, bytes);
  }
}

template <class Fn, class T>
__attribute__((flatten)) void backward(const Fn& fn, const T* g, bool g_scalar, const T* s, T* d, int64_t n) {
  constexpr int64_t W = BP_VMATH_BYTES / sizeof(T);
  using V = typename vm::vec<T, W>::type;
  V gs = vm::splat<V>(*g);
  int64_t i = 0;
  for (; i < n; i += W) {
    size_t bytes = static_cast<size_t>(n - i < W ? n - i : W) * sizeof(T);
    V gv = gs, sv = {};
    if (!g_scalar) std::memcpy(&gv, g + i, bytes);
    std::memcpy(&sv, s + i, bytes);
    V r = fn.grad(gv, sv);
    std::memcpy(d + i, &r, bytes);
  }
}

}  // namespace

template <class Fn, class T>
VecKernels<Fn, T> vec_kernels() {
  return {&forward<Fn, T>, &backward<Fn, T>};
}

#define BP_VMATH_INSTANTIATE(Fn)                                  \
  template VecKernels<Fn, float> vec_kernels<Fn, float>();        \
  template VecKernels<Fn, double> vec_kernels<Fn, double>();
BP_VMATH_INSTANTIATE(ExpFn)
BP_VMATH_INSTANTIATE(LogFn)
BP_VMATH_INSTANTIATE(SigmoidFn)
BP_VMATH_INSTANTIATE(TanhFn)
BP_VMATH_INSTANTIATE(GeluFn)
BP_VMATH_INSTANTIATE(GeluTanhFn)
BP_VMATH_INSTANTIATE(SoftplusFn)
BP_VMATH_INSTANTIATE(EluFn)
BP_VMATH_INSTANTIATE(SiluFn)
BP_VMATH_INSTANTIATE(MishFn)
BP_VMATH_INSTANTIATE(SoftsignFn)
BP_VMATH_INSTANTIATE(TanhshrinkFn)
BP_VMATH_INSTANTIATE(LogSigmoidFn)
#undef BP_VMATH_INSTANTIATE

}  // namespace backprop::kernels::BP_VMATH_NS
