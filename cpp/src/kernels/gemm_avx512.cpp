// GEMM for AVX-512 (F/DQ/BW/VL): the x86 template (gemm_x86.hpp) on 512-bit vectors, with
// masked loads and stores for partial column tiles. Compiled with the flags set in
// cmake/KernelFlags.cmake and run only when cpu_dispatch selects avx512.
#include "gemm_kernels.hpp"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__FMA__)
#define BP_GEMM_ISA avx512
#include "gemm_driver.hpp"
#include "gemm_x86.hpp"

namespace backprop::kernels::avx512 {
namespace {

template <class T>
struct Zmm;

template <>
struct Zmm<float> {
  using T = float;
  using V = __m512;
  static constexpr int L = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const T* p) { return _mm512_loadu_ps(p); }
  static void store(T* p, V x) { _mm512_storeu_ps(p, x); }
  static V bcast(const T* p) { return _mm512_set1_ps(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static void store_part(T* p, V x, int n, bool acc) {
    __mmask16 m = n >= L ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
    _mm512_mask_storeu_ps(p, m, acc ? _mm512_add_ps(_mm512_maskz_loadu_ps(m, p), x) : x);
  }
};

template <>
struct Zmm<double> {
  using T = double;
  using V = __m512d;
  static constexpr int L = 8;
  static V zero() { return _mm512_setzero_pd(); }
  static V load(const T* p) { return _mm512_loadu_pd(p); }
  static void store(T* p, V x) { _mm512_storeu_pd(p, x); }
  static V bcast(const T* p) { return _mm512_set1_pd(*p); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static void store_part(T* p, V x, int n, bool acc) {
    __mmask8 m = n >= L ? __mmask8(0xFF) : n <= 0 ? __mmask8(0) : __mmask8((1u << n) - 1);
    _mm512_mask_storeu_pd(p, m, acc ? _mm512_add_pd(_mm512_maskz_loadu_pd(m, p), x) : x);
  }
};

// 12 rows x 2 vectors: 24 accumulators of the 32 zmm registers.
using KernelF32 = KernelX86<Zmm<float>, 12, 2, 192, 512, 2048>;
using KernelF64 = KernelX86<Zmm<double>, 12, 2, 96, 256, 2048>;

constexpr GemmKernelTable<float> kTableF32 = make_table<KernelF32>();
constexpr GemmKernelTable<double> kTableF64 = make_table<KernelF64>();

}  // namespace
}  // namespace backprop::kernels::avx512

namespace backprop::kernels {
const GemmKernelTable<float>* gemm_table_f32_avx512() { return &avx512::kTableF32; }
const GemmKernelTable<double>* gemm_table_f64_avx512() { return &avx512::kTableF64; }
}  // namespace backprop::kernels

#else

namespace backprop::kernels {
const GemmKernelTable<float>* gemm_table_f32_avx512() { return nullptr; }
const GemmKernelTable<double>* gemm_table_f64_avx512() { return nullptr; }
}  // namespace backprop::kernels

#endif
