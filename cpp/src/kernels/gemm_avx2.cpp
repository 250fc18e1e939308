// GEMM micro-kernels for AVX2 + FMA. Compiled with the flags set in cmake/KernelFlags.cmake and
// run only when cpu_dispatch selects avx2.
#include "gemm_kernels.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#define BP_GEMM_ISA avx2
#include "gemm_driver.hpp"
#include "gemm_x86.hpp"

namespace backprop::kernels::avx2 {
namespace {

template <class T>
struct Ymm {
  using type = __m256;
};
template <>
struct Ymm<double> {
  using type = __m256d;
};

// Register tile MR x (NV * L) with L lanes per ymm; partial column tiles go through a stack tile.
template <class T_, int MR_, int NV_, int64_t MC_, int64_t KC_, int64_t NC_>
struct KernelAvx2 {
  using T = T_;
  static constexpr int L = 32 / sizeof(T);
  static constexpr int MR = MR_, NV = NV_, NR = NV_ * L;
  static constexpr int64_t MC = MC_, KC = KC_, NC = NC_;
  using V = typename Ymm<T>::type;

  static V vzero() {
    if constexpr (sizeof(T) == 4) return _mm256_setzero_ps(); else return _mm256_setzero_pd();
  }
  static V vload(const T* p) {
    if constexpr (sizeof(T) == 4) return _mm256_loadu_ps(p); else return _mm256_loadu_pd(p);
  }
  static void vstore(T* p, V x) {
    if constexpr (sizeof(T) == 4) _mm256_storeu_ps(p, x); else _mm256_storeu_pd(p, x);
  }
  static V vbcast(const T* p) {
    if constexpr (sizeof(T) == 4) return _mm256_broadcast_ss(p); else return _mm256_broadcast_sd(p);
  }
  static V vfma(V a, V b, V c) {
    if constexpr (sizeof(T) == 4) return _mm256_fmadd_ps(a, b, c); else return _mm256_fmadd_pd(a, b, c);
  }
  static V vadd(V a, V b) {
    if constexpr (sizeof(T) == 4) return _mm256_add_ps(a, b); else return _mm256_add_pd(a, b);
  }

  template <int M, int NU>
  static void ukr_impl(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t ldc, bool acc, int n) {
    V r[M][NU];
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NU; ++v) r[i][v] = vzero();
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; ++p) {
      V bv[NU];
#pragma GCC unroll 4
      for (int v = 0; v < NU; ++v) bv[v] = vload(b + L * v);
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i) {
        V av = vbcast(a + i);
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) r[i][v] = vfma(av, bv[v], r[i][v]);
      }
      a += MR;
      b += NR;
    }
    if (n == NU * L) {
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) {
          T* cp = c + i * ldc + L * v;
          vstore(cp, acc ? vadd(vload(cp), r[i][v]) : r[i][v]);
        }
    } else {
      alignas(32) T tile[M][NR];
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) vstore(&tile[i][L * v], r[i][v]);
      for (int i = 0; i < M; ++i) {
        T* cp = c + i * ldc;
        if (acc)
          for (int j = 0; j < n; ++j) cp[j] += tile[i][j];
        else
          for (int j = 0; j < n; ++j) cp[j] = tile[i][j];
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
  static void pack_trans(const T* src, int64_t ld, int n, int64_t kc, T* dst) {
    pack_trans_x86<W>(src, ld, n, kc, dst);
  }
};

using KernelF32 = KernelAvx2<float, 6, 2, 144, 512, 2048>;
using KernelF64 = KernelAvx2<double, 6, 2, 96, 256, 2048>;

constexpr GemmKernelTable<float> kTableF32 = make_table<KernelF32>();
constexpr GemmKernelTable<double> kTableF64 = make_table<KernelF64>();

}  // namespace
}  // namespace backprop::kernels::avx2

namespace backprop::kernels {
const GemmKernelTable<float>* gemm_table_f32_avx2() { return &avx2::kTableF32; }
const GemmKernelTable<double>* gemm_table_f64_avx2() { return &avx2::kTableF64; }
}  // namespace backprop::kernels

#else

namespace backprop::kernels {
const GemmKernelTable<float>* gemm_table_f32_avx2() { return nullptr; }
const GemmKernelTable<double>* gemm_table_f64_avx2() { return nullptr; }
}  // namespace backprop::kernels

#endif
