// The x86 GEMM micro-kernel and transposing pack, written once over a vector-traits type and
// instantiated by gemm_avx2.cpp (Ymm) and gemm_avx512.cpp (its own Zmm) for float and double.
// Included after gemm_driver.hpp: same per-ISA namespace, internal linkage, so each
// translation unit's copy is compiled with that unit's -m flags only.
//
// Vector traits VT provide:
//   using T, V; static constexpr int L (lanes);
//   zero(), load(const T*), store(T*, V), bcast(const T*), fma(a, b, c) = a*b + c, add(a, b);
//   store_part(T* p, V x, int n, bool acc): p[0:min(n, L)] (=|+=) x[0:min(n, L)] (n <= 0: nothing).
#include <immintrin.h>

namespace backprop::kernels::BP_GEMM_ISA {
namespace {

template <class T>
struct Ymm;

template <>
struct Ymm<float> {
  using T = float;
  using V = __m256;
  static constexpr int L = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const T* p) { return _mm256_loadu_ps(p); }
  static void store(T* p, V x) { _mm256_storeu_ps(p, x); }
  static V bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  // 8x8 in-register transpose of r[0..7].
  static void transpose(V* r) {
    V t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    V t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    V t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    V t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    V u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    V u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    V u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    V u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
  }
  static void store_part(T* p, V x, int n, bool acc);
};

template <>
struct Ymm<double> {
  using T = double;
  using V = __m256d;
  static constexpr int L = 4;
  static V zero() { return _mm256_setzero_pd(); }
  static V load(const T* p) { return _mm256_loadu_pd(p); }
  static void store(T* p, V x) { _mm256_storeu_pd(p, x); }
  static V bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_pd(a, b, c); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  // 4x4 in-register transpose of r[0..3].
  static void transpose(V* r) {
    V t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    V t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
  }
  static void store_part(T* p, V x, int n, bool acc);
};

// AVX2 has no masked store for every width: a partial vector goes through the stack.
template <class VT>
inline void ymm_store_part(typename VT::T* p, typename VT::V x, int n, bool acc) {
  if (n >= VT::L) {
    VT::store(p, acc ? VT::add(VT::load(p), x) : x);
    return;
  }
  alignas(32) typename VT::T tmp[VT::L];
  VT::store(tmp, x);
  int m = n < VT::L ? n : VT::L;
  if (acc)
    for (int j = 0; j < m; ++j) p[j] += tmp[j];
  else
    for (int j = 0; j < m; ++j) p[j] = tmp[j];
}
inline void Ymm<float>::store_part(float* p, __m256 x, int n, bool acc) { ymm_store_part<Ymm<float>>(p, x, n, acc); }
inline void Ymm<double>::store_part(double* p, __m256d x, int n, bool acc) {
  ymm_store_part<Ymm<double>>(p, x, n, acc);
}

// dst[p*W + i] = src[i*ld + p] (i < n; 0 for n <= i < W), in LxL blocks transposed in ymm
// registers (both x86 variants have AVX2). When W is not a multiple of the block, the last group
// of each row is stored whole and spills into the start of the next row, which the next store
// overwrites (rows go in order).
template <int W, class T>
inline void pack_trans_x86(const T* src, int64_t ld, int n, int64_t kc, T* dst) {
  using Y = Ymm<T>;
  using V = typename Y::V;
  constexpr int B = Y::L;
  constexpr int G = (W + B - 1) / B;
  int64_t p = 0;
  if constexpr (W % B == 0) {
    for (int g = 0; g < G; ++g) {
      const T* s = src + g * B * ld;
      int rows = n - g * B;
      for (p = 0; p + B <= kc; p += B) {
        V t[B];
        for (int r = 0; r < B; ++r) t[r] = r < rows ? Y::load(s + r * ld + p) : Y::zero();
        Y::transpose(t);
        for (int q = 0; q < B; ++q) Y::store(dst + (p + q) * W + g * B, t[q]);
      }
    }
  } else {
    for (p = 0; p + B <= kc; p += B) {
      V t[G][B];
      for (int g = 0; g < G; ++g) {
        for (int r = 0; r < B; ++r) t[g][r] = g * B + r < n ? Y::load(src + (g * B + r) * ld + p) : Y::zero();
        Y::transpose(t[g]);
      }
      for (int q = 0; q < B; ++q)
        for (int g = 0; g < G; ++g) Y::store(dst + (p + q) * W + g * B, t[g][q]);
    }
  }
  pack_trans_scalar<W>(src, ld, n, p, kc, dst);
}

// Register tile MR x (NV * L): MR rows of NV vector accumulators. Cache blocks MC, KC, NC.
template <class VT, int MR_, int NV_, int64_t MC_, int64_t KC_, int64_t NC_>
struct KernelX86 {
  using T = typename VT::T;
  using V = typename VT::V;
  static constexpr int L = VT::L;
  static constexpr int MR = MR_, NV = NV_, NR = NV_ * VT::L;
  static constexpr int64_t MC = MC_, KC = KC_, NC = NC_;

  template <int M, int NU>
  static void ukr_impl(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t ldc, bool acc, int n) {
    V r[M][NU];
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NU; ++v) r[i][v] = VT::zero();
#pragma GCC unroll 16
    for (int i = 0; i < M; ++i) _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; ++p) {
      V bv[NU];
#pragma GCC unroll 4
      for (int v = 0; v < NU; ++v) bv[v] = VT::load(b + L * v);
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i) {
        V av = VT::bcast(a + i);
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) r[i][v] = VT::fma(av, bv[v], r[i][v]);
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
          VT::store(cp, acc ? VT::add(VT::load(cp), r[i][v]) : r[i][v]);
        }
    } else {
#pragma GCC unroll 16
      for (int i = 0; i < M; ++i)
#pragma GCC unroll 4
        for (int v = 0; v < NU; ++v) VT::store_part(c + i * ldc + L * v, r[i][v], n - L * v, acc);
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

}  // namespace
}  // namespace backprop::kernels::BP_GEMM_ISA
