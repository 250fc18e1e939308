// Vectorised transcendental and activation loops on 256-bit AVX2+FMA vectors (flags from
// cmake/KernelFlags.cmake); chosen at run time by vec_kernels_for.
#define BP_VMATH_NS avx2
#if defined(__AVX2__) && defined(__FMA__)
#define BP_VMATH_BYTES 32
#include "vmath_impl.hpp"
#else
#include "vmath_stub.hpp"
#endif
