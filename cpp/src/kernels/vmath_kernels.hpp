#pragma once
// The vectorised dense loops for the functors of kernels/activation.hpp, one set per ISA
// (vmath_avx2.cpp, vmath_avx512.cpp), looked up from the level chosen in cpu.cpp. The portable
// level has none: its callers run the functor's scalar form.
#include <cstdint>

#include "cpu_dispatch.hpp"

namespace backprop::kernels {

struct ExpFn;
struct LogFn;
struct SigmoidFn;
struct TanhFn;
struct GeluFn;
struct GeluTanhFn;
struct SoftplusFn;
struct EluFn;
struct SiluFn;
struct MishFn;
struct SoftsignFn;
struct TanhshrinkFn;
struct LogSigmoidFn;

template <class Fn, class T>
struct VecKernels {
  /// y[i] = fn.f(x[i]); x may equal y.
  void (*f)(const Fn& fn, const T* x, T* y, int64_t n) = nullptr;
  /// d[i] = fn.grad(g[g_scalar ? 0 : i], s[i]).
  void (*grad)(const Fn& fn, const T* g, bool g_scalar, const T* s, T* d, int64_t n) = nullptr;
};

namespace avx2 {
template <class Fn, class T>
VecKernels<Fn, T> vec_kernels();
}
namespace avx512 {
template <class Fn, class T>
VecKernels<Fn, T> vec_kernels();
}

/// The kernels of `isa` for Fn over T; both pointers are null where the level has none.
template <class Fn, class T>
VecKernels<Fn, T> vec_kernels_for(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return avx512::vec_kernels<Fn, T>();
    case Isa::Avx2:
      return avx2::vec_kernels<Fn, T>();
    default:
      return {};
  }
}

}  // namespace backprop::kernels
