// The blocked, packed GEMM shared by every ISA variant. Included once by each gemm_<isa>.cpp,
// after it has defined BP_GEMM_ISA and its kernel traits; everything here has internal linkage
// (an anonymous namespace inside a per-ISA namespace), so code compiled with AVX-512 flags can
// never be picked by the linker for a caller that runs on a lesser CPU. For the same reason
// it uses no out-of-line standard-library templates.
//
// Traits K provide:
//   using T; static constexpr int MR, NR; static constexpr int64_t MC, KC, NC;
//   template <int M> static void ukr(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, bool acc, int n);
//     C[0:M, 0:n] (=|+=) a (packed, MR per k step) * b (packed, NR per k step); n <= NR
//   template <int W> static void pack_trans(const T* src, int64_t ld, int rows, int64_t kc, T* dst);
//     dst[p*W + i] = src[i*ld + p] for i < rows, 0 for rows <= i < W; may write up to 16
//     elements past dst + W*kc (the next panel or the workspace padding).
#ifndef BP_GEMM_ISA
#error "define BP_GEMM_ISA before including gemm_driver.hpp"
#endif

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "gemm_kernels.hpp"

namespace backprop::kernels::BP_GEMM_ISA {
namespace {

constexpr int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
constexpr int64_t round_up(int64_t a, int64_t b) { return ceil_div(a, b) * b; }

// dst[p*W + i] = src[p*ld + i] for i < n, 0 above.
template <int W, class T>
inline void pack_contig(const T* src, int64_t ld, int n, int64_t kc, T* dst) {
  if (n == W) {
    for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * W, src + p * ld, sizeof(T) * W);
  } else {
    for (int64_t p = 0; p < kc; ++p) {
      T* d = dst + p * W;
      const T* s = src + p * ld;
      for (int i = 0; i < W; ++i) d[i] = i < n ? s[i] : T(0);
    }
  }
}

// dst[p*W + i] = src[i*si + p*sp] for i < n, 0 above.
template <int W, class T>
inline void pack_strided(const T* src, int64_t si, int64_t sp, int n, int64_t kc, T* dst) {
  for (int64_t p = 0; p < kc; ++p) {
    T* d = dst + p * W;
    for (int i = 0; i < W; ++i) d[i] = i < n ? src[i * si + p * sp] : T(0);
  }
}

// Portable transposing pack (used by the default variant and for tails).
template <int W, class T>
inline void pack_trans_scalar(const T* src, int64_t ld, int n, int64_t p0, int64_t kc, T* dst) {
  for (int64_t p = p0; p < kc; ++p) {
    T* d = dst + p * W;
    for (int i = 0; i < W; ++i) d[i] = i < n ? src[i * ld + p] : T(0);
  }
}

// Packs an n x kc slab (n <= W) whose element (i, p) is at src[i*si + p*sp] into W-wide panel order.
template <class K, int W>
inline void pack_panel(const typename K::T* src, int64_t si, int64_t sp, int n, int64_t kc, typename K::T* dst) {
  if (si == 1 || n == 1)
    pack_contig<W>(src, sp, n, kc, dst);
  else if (sp == 1)
    K::template pack_trans<W>(src, si, n, kc, dst);
  else
    pack_strided<W>(src, si, sp, n, kc, dst);
}

template <class K>
inline void micro_edge(int m, int64_t kc, const typename K::T* a, const typename K::T* b, typename K::T* c,
                       int64_t ldc, bool acc, int n);

template <class K, int M>
inline void micro_edge_rec(int m, int64_t kc, const typename K::T* a, const typename K::T* b, typename K::T* c,
                           int64_t ldc, bool acc, int n) {
  if constexpr (M >= 1) {
    if (m == M)
      K::template ukr<M>(kc, a, b, c, ldc, acc, n);
    else
      micro_edge_rec<K, M - 1>(m, kc, a, b, c, ldc, acc, n);
  }
}

// C (mc x nc) (=|+=) packed A block (mc x kc, MR panels) * packed B block (kc x nc, NR panels).
template <class K>
void macro_kernel(int64_t mc, int64_t nc, int64_t kc, const typename K::T* Ap, const typename K::T* Bp,
                  typename K::T* C, int64_t ldc, bool acc) {
  constexpr int MR = K::MR, NR = K::NR;
  for (int64_t jr = 0; jr < nc; jr += NR) {
    int n = static_cast<int>(imin(NR, nc - jr));
    const typename K::T* b = Bp + jr * kc;
    int64_t ir = 0;
    for (; ir + MR <= mc; ir += MR) K::template ukr<MR>(kc, Ap + ir * kc, b, C + ir * ldc + jr, ldc, acc, n);
    if (ir < mc)
      micro_edge_rec<K, MR - 1>(static_cast<int>(mc - ir), kc, Ap + ir * kc, b, C + ir * ldc + jr, ldc, acc, n);
  }
}

template <class K>
void gemm_packed(int64_t M, int64_t N, int64_t Kd, const typename K::T* A, int64_t rsa, int64_t csa,
                 const typename K::T* B, int64_t rsb, int64_t csb, typename K::T* C, int64_t ldc, bool accumulate,
                 typename K::T* ws) {
  using T = typename K::T;
  constexpr int MR = K::MR, NR = K::NR;
  if (M <= 0 || N <= 0) return;
  if (Kd <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::memset(C + i * ldc, 0, sizeof(T) * static_cast<size_t>(N));
    return;
  }
  // Equal-sized blocks: K = 784 runs as 4 x 196, not 3 x 256 + 16.
  int64_t kc0 = imin(K::KC, round_up(ceil_div(Kd, ceil_div(Kd, K::KC)), 8));
  int64_t mc0 = imin(K::MC, round_up(ceil_div(M, ceil_div(M, K::MC)), MR));
  int64_t nc0 = imin(K::NC, round_up(ceil_div(N, ceil_div(N, K::NC)), NR));
  T* Ap = ws;
  T* Bp = ws + round_up(K::MC, MR) * K::KC + 16;
  for (int64_t jc = 0; jc < N; jc += nc0) {
    int64_t nc = imin(nc0, N - jc);
    for (int64_t pc = 0; pc < Kd; pc += kc0) {
      int64_t kc = imin(kc0, Kd - pc);
      for (int64_t jr = 0; jr < nc; jr += NR)
        pack_panel<K, NR>(B + pc * rsb + (jc + jr) * csb, csb, rsb, static_cast<int>(imin(NR, nc - jr)), kc,
                          Bp + jr * kc);
      bool acc = accumulate || pc > 0;
      for (int64_t ic = 0; ic < M; ic += mc0) {
        int64_t mc = imin(mc0, M - ic);
        for (int64_t ir = 0; ir < mc; ir += MR)
          pack_panel<K, MR>(A + (ic + ir) * rsa + pc * csa, rsa, csa, static_cast<int>(imin(MR, mc - ir)), kc,
                            Ap + ir * kc);
        macro_kernel<K>(mc, nc, kc, Ap, Bp, C + ic * ldc + jc, ldc, acc);
      }
    }
  }
}

// sum_p x[p] * y[p] over contiguous x, y, in L independent lanes so the compiler vectorises it.
template <class T>
inline T dot_contig(const T* __restrict x, const T* __restrict y, int64_t n) {
  constexpr int L = 64 / sizeof(T);
  T acc[L] = {};
  int64_t p = 0;
  for (; p + L <= n; p += L)
    for (int l = 0; l < L; ++l) acc[l] += x[p + l] * y[p + l];
  T s = T(0);
  for (; p < n; ++p) s += x[p] * y[p];
  for (int l = 0; l < L; ++l) s += acc[l];
  return s;
}

// Small and vector-shaped products (M or N of 1): no packing. Rows of C are updated along
// contiguous rows of B, or, when both operands are contiguous along K, computed as dot products.
template <class T>
void gemm_direct(int64_t M, int64_t N, int64_t Kd, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
                 int64_t csb, T* C, int64_t ldc, bool accumulate) {
  if (Kd <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::memset(C + i * ldc, 0, sizeof(T) * static_cast<size_t>(N));
    return;
  }
  // Dot products need A contiguous along K; B's columns are gathered when they are not (a
  // narrow B: N small, so the copy is small).
  bool dot_form = (csa == 1 || Kd == 1) && (csb != 1 || N <= 8);
  T* gathered = nullptr;
  if (dot_form && rsb != 1 && Kd > 1) {
    if (N > 16) {
      dot_form = false;
    } else {
      gathered = static_cast<T*>(std::malloc(sizeof(T) * static_cast<size_t>(N * Kd)));
      if (gathered == nullptr) {
        dot_form = false;
      } else {
        for (int64_t j = 0; j < N; ++j)
          for (int64_t p = 0; p < Kd; ++p) gathered[j * Kd + p] = B[p * rsb + j * csb];
      }
    }
  }
  for (int64_t i = 0; i < M; ++i) {
    T* __restrict c = C + i * ldc;
    const T* a = A + i * rsa;
    if (dot_form) {
      for (int64_t j = 0; j < N; ++j) {
        T s = dot_contig(a, gathered ? gathered + j * Kd : B + j * csb, Kd);
        c[j] = accumulate ? c[j] + s : s;
      }
      continue;
    }
    if (!accumulate)
      for (int64_t j = 0; j < N; ++j) c[j] = T(0);
    if (csb == 1) {
      for (int64_t p = 0; p < Kd; ++p) {
        const T av = a[p * csa];
        const T* __restrict b = B + p * rsb;
        for (int64_t j = 0; j < N; ++j) c[j] += av * b[j];
      }
    } else {
      for (int64_t p = 0; p < Kd; ++p) {
        const T av = a[p * csa];
        const T* b = B + p * rsb;
        for (int64_t j = 0; j < N; ++j) c[j] += av * b[j * csb];
      }
    }
  }
  std::free(gathered);
}

template <class K>
constexpr size_t workspace_elems() {
  return static_cast<size_t>(round_up(K::MC, K::MR) * K::KC + 16 + round_up(K::NC, K::NR) * K::KC + 64);
}

template <class K>
constexpr GemmKernelTable<typename K::T> make_table() {
  return GemmKernelTable<typename K::T>{K::MR,
                                        K::NR,
                                        K::MC,
                                        K::KC,
                                        K::NC,
                                        workspace_elems<K>(),
                                        &gemm_packed<K>,
                                        &gemm_direct<typename K::T>};
}

}  // namespace
}  // namespace backprop::kernels::BP_GEMM_ISA
