// GEMM micro-kernels for AVX-512 (F/DQ/BW/VL). Compiled with the flags set in
// cmake/KernelFlags.cmake and run only when cpu_dispatch selects avx512.
#include "gemm_kernels.hpp"

#if defined(__AVX512F__) && defined(__AVX512DQ__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__FMA__)
#define BP_GEMM_ISA avx512
#include "gemm_driver.hpp"
#include "gemm_x86.hpp"

namespace backprop::kernels::avx512 {
namespace {

inline __mmask16 tail_mask(int n) { return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }
inline __mmask8 tail_mask8(int n) { return n >= 8 ? __mmask8(0xFF) : n <= 0 ? __mmask8(0) : __mmask8((1u << n) - 1); }

// Register tile MR x 32 floats: MR rows of two zmm accumulators.
struct KernelF32 {
  using T = float;
  static constexpr int MR = 12, NR = 32, L = 16, NV = NR / L;
  static constexpr int64_t MC = 192, KC = 512, NC = 2048;

  template <int M, int NU>
  static void ukr_impl(int64_t kc, const float* __restrict a, const float* __restrict b, float* c, int64_t ldc, bool acc,
                  int n) {
    __m512 r[M][NU];
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NU; ++v) r[i][v] = _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; ++p) {
      __m512 bv[NU];
#pragma GCC unroll 4
      for (int v = 0; v < NU; ++v) bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i) {
        __m512 av = _mm512_set1_ps(a[i]);
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) r[i][v] = _mm512_fmadd_ps(av, bv[v], r[i][v]);
      }
      a += MR;
      b += NR;
    }
    if (n == NU * L) {
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) {
          float* cp = c + i * ldc + 16 * v;
          _mm512_storeu_ps(cp, acc ? _mm512_add_ps(_mm512_loadu_ps(cp), r[i][v]) : r[i][v]);
        }
    } else {
      __mmask16 mk[NU];
#pragma GCC unroll 4
      for (int v = 0; v < NU; ++v) mk[v] = tail_mask(n - 16 * v);
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) {
          float* cp = c + i * ldc + 16 * v;
          __m512 x = acc ? _mm512_add_ps(_mm512_maskz_loadu_ps(mk[v], cp), r[i][v]) : r[i][v];
          _mm512_mask_storeu_ps(cp, mk[v], x);
        }
    }
  }

  // Narrow column tiles (n <= one vector) compute one vector per row, not NV.
  template <int M>
  static void ukr(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, bool acc, int n) {
    if (NV > 1 && n <= L)
      ukr_impl<M, 1>(kc, a, b, c, ldc, acc, n);
    else
      ukr_impl<M, NV>(kc, a, b, c, ldc, acc, n);
  }

  template <int W>
  static void pack_trans(const float* src, int64_t ld, int n, int64_t kc, float* dst) {
    pack_trans_x86<W>(src, ld, n, kc, dst);
  }
};

// Register tile MR x 16 doubles.
struct KernelF64 {
  using T = double;
  static constexpr int MR = 12, NR = 16, L = 8, NV = NR / L;
  static constexpr int64_t MC = 96, KC = 256, NC = 2048;

  template <int M, int NU>
  static void ukr_impl(int64_t kc, const double* __restrict a, const double* __restrict b, double* c, int64_t ldc,
                  bool acc, int n) {
    __m512d r[M][NU];
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NU; ++v) r[i][v] = _mm512_setzero_pd();
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; ++p) {
      __m512d bv[NU];
#pragma GCC unroll 4
      for (int v = 0; v < NU; ++v) bv[v] = _mm512_loadu_pd(b + 8 * v);
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i) {
        __m512d av = _mm512_set1_pd(a[i]);
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) r[i][v] = _mm512_fmadd_pd(av, bv[v], r[i][v]);
      }
      a += MR;
      b += NR;
    }
    if (n == NU * L) {
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) {
          double* cp = c + i * ldc + 8 * v;
          _mm512_storeu_pd(cp, acc ? _mm512_add_pd(_mm512_loadu_pd(cp), r[i][v]) : r[i][v]);
        }
    } else {
      __mmask8 mk[NU];
#pragma GCC unroll 4
      for (int v = 0; v < NU; ++v) mk[v] = tail_mask8(n - 8 * v);
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) {
          double* cp = c + i * ldc + 8 * v;
          __m512d x = acc ? _mm512_add_pd(_mm512_maskz_loadu_pd(mk[v], cp), r[i][v]) : r[i][v];
          _mm512_mask_storeu_pd(cp, mk[v], x);
        }
    }
  }

  // Narrow column tiles (n <= one vector) compute one vector per row, not NV.
  template <int M>
  static void ukr(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, bool acc, int n) {
    if (NV > 1 && n <= L)
      ukr_impl<M, 1>(kc, a, b, c, ldc, acc, n);
    else
      ukr_impl<M, NV>(kc, a, b, c, ldc, acc, n);
  }

  template <int W>
  static void pack_trans(const double* src, int64_t ld, int n, int64_t kc, double* dst) {
    pack_trans_x86<W>(src, ld, n, kc, dst);
  }
};

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
