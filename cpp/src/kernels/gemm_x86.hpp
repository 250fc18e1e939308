// Transposing packs for the AVX2 and AVX-512 variants (both compile with at least AVX2).
// Included by gemm_avx2.cpp / gemm_avx512.cpp after gemm_driver.hpp: same per-ISA namespace,
// internal linkage.
#include <immintrin.h>

namespace backprop::kernels::BP_GEMM_ISA {
namespace {

inline void transpose8(__m256* r) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

inline void transpose4(__m256d* r) {
  __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
  r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
  r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

// dst[p*W + i] = src[i*ld + p] (i < n; 0 for n <= i < W), in 8x8 (float) / 4x4 (double) blocks.
// When W is not a multiple of the block, the last group of each row is stored whole and spills
// into the start of the next row, which the next store overwrites (rows go in order).
template <int W>
inline void pack_trans_x86(const float* src, int64_t ld, int n, int64_t kc, float* dst) {
  constexpr int G = (W + 7) / 8;
  int64_t p = 0;
  if constexpr (W % 8 == 0) {
    for (int g = 0; g < G; ++g) {
      const float* s = src + g * 8 * ld;
      int rows = n - g * 8;
      for (p = 0; p + 8 <= kc; p += 8) {
        __m256 t[8];
        for (int r = 0; r < 8; ++r) t[r] = r < rows ? _mm256_loadu_ps(s + r * ld + p) : _mm256_setzero_ps();
        transpose8(t);
        for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + (p + q) * W + g * 8, t[q]);
      }
    }
  } else {
    for (p = 0; p + 8 <= kc; p += 8) {
      __m256 t[G][8];
      for (int g = 0; g < G; ++g) {
        for (int r = 0; r < 8; ++r)
          t[g][r] = g * 8 + r < n ? _mm256_loadu_ps(src + (g * 8 + r) * ld + p) : _mm256_setzero_ps();
        transpose8(t[g]);
      }
      for (int q = 0; q < 8; ++q)
        for (int g = 0; g < G; ++g) _mm256_storeu_ps(dst + (p + q) * W + g * 8, t[g][q]);
    }
  }
  pack_trans_scalar<W>(src, ld, n, p, kc, dst);
}

template <int W>
inline void pack_trans_x86(const double* src, int64_t ld, int n, int64_t kc, double* dst) {
  constexpr int G = (W + 3) / 4;
  int64_t p = 0;
  if constexpr (W % 4 == 0) {
    for (int g = 0; g < G; ++g) {
      const double* s = src + g * 4 * ld;
      int rows = n - g * 4;
      for (p = 0; p + 4 <= kc; p += 4) {
        __m256d t[4];
        for (int r = 0; r < 4; ++r) t[r] = r < rows ? _mm256_loadu_pd(s + r * ld + p) : _mm256_setzero_pd();
        transpose4(t);
        for (int q = 0; q < 4; ++q) _mm256_storeu_pd(dst + (p + q) * W + g * 4, t[q]);
      }
    }
  } else {
    for (p = 0; p + 4 <= kc; p += 4) {
      __m256d t[G][4];
      for (int g = 0; g < G; ++g) {
        for (int r = 0; r < 4; ++r)
          t[g][r] = g * 4 + r < n ? _mm256_loadu_pd(src + (g * 4 + r) * ld + p) : _mm256_setzero_pd();
        transpose4(t[g]);
      }
      for (int q = 0; q < 4; ++q)
        for (int g = 0; g < G; ++g) _mm256_storeu_pd(dst + (p + q) * W + g * 4, t[g][q]);
    }
  }
  pack_trans_scalar<W>(src, ld, n, p, kc, dst);
}

}  // namespace
}  // namespace backprop::kernels::BP_GEMM_ISA
