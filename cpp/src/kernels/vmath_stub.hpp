#pragma once
// Null kernels for an ISA this compiler cannot target: vec_kernels_for then falls back to the
// portable scalar loops.
#include "activation.hpp"
#include "activation_more.hpp"
#include "vmath_kernels.hpp"

namespace backprop::kernels::BP_VMATH_NS {

template <class Fn, class T>
VecKernels<Fn, T> vec_kernels() {
  return {};
}

#define BP_VMATH_INSTANTIATE(Fn)                           \
  template VecKernels<Fn, float> vec_kernels<Fn, float>(); \
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
