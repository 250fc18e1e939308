// Vectorised transcendental and activation loops on 512-bit AVX-512 vectors (flags from
// cmake/KernelFlags.cmake); chosen at run time by vec_kernels_for.
#define BP_VMATH_NS avx512
#if defined(__AVX512F__) && defined(__AVX512DQ__)
#define BP_VMATH_BYTES 64
#include "vmath_impl.hpp"
#else
#include "vmath_stub.hpp"
#endif
