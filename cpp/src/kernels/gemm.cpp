// kernels::gemm: picks the ISA variant (cpu_dispatch), runs tiny products through an unpacked
// loop, and splits large ones across the OpenMP team by whole register tiles of rows (or of
// columns when that balances better, e.g. M = 64 on two threads with 12-row tiles).
#include "gemm.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <new>

#include "gemm_kernels.hpp"
#include "parallel.hpp"

namespace backprop::kernels {
namespace {

// When the unpacked loop runs (measured with 1 thread, AVX-512, against the packed path):
// packing already pays at 8x8x8, but not for one or two rows of A (each element of packed B
// would be used once or twice), nor for up to 8 columns when A is contiguous along K (dot
// products then beat register tiles that are mostly padding).
constexpr int64_t kDirectMaxFma = 256;
constexpr int64_t kDirectMaxRows = 2;
constexpr int64_t kDirectMaxCols = 8;
// Multiply-adds a thread must have before another one joins: two threads already win at
// 64x64x64 (5.1 vs 6.6 us), not at 48x48x48.
constexpr int64_t kFmaPerThread = 1 << 16;

// One 64-byte-aligned scratch buffer per thread, kept between calls.
struct Workspace {
  void* raw = nullptr;
  void* aligned = nullptr;
  size_t bytes = 0;
  ~Workspace() { std::free(raw); }
  void* get(size_t n) {
    if (n > bytes) {
      std::free(raw);
      raw = aligned = nullptr;
      bytes = 0;
      raw = std::malloc(n + 64);
      if (raw == nullptr) throw std::bad_alloc();
      aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(raw) + 63) & ~uintptr_t{63});
      bytes = n;
    }
    return aligned;
  }
};

template <class T>
T* workspace(const GemmKernelTable<T>& t) {
  thread_local Workspace ws;
  return static_cast<T*>(ws.get(t.workspace * sizeof(T)));
}

int team_size(int64_t fma) {
  if (!in_parallel_region())
    return static_cast<int>(std::min<int64_t>(available_threads(), std::max<int64_t>(1, fma / kFmaPerThread)));
  return 1;
}

// parallel_for gives one thread per kGrainSize of cost; scale an item's multiply-adds so that
// this means one thread per kFmaPerThread of them.
inline int64_t cost_of(int64_t fma_per_item) {
  return std::max<int64_t>(1, fma_per_item / std::max<int64_t>(1, kFmaPerThread / kGrainSize));
}

}  // namespace

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
          int64_t csb, T* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  // A contiguous single column of C: compute its transpose, a row (B^T A^T), which the direct
  // loop vectorises along M.
  if (N == 1 && ldc == 1 && M > 1) {
    gemm<T>(1, M, K, B, csb, rsb, A, csa, rsa, C, M, accumulate);
    return;
  }
  const GemmKernelTable<T>& t = *gemm_table<T>(active_isa());
  int64_t fma = M * N * std::max<int64_t>(K, 0);
  // Unpacked: tiny products, one or two rows (packing B would cost as much as the product),
  // and a few columns with A contiguous along K (dot products instead of mostly empty tiles).
  if (K <= 0 || fma <= kDirectMaxFma || M <= kDirectMaxRows || (N <= kDirectMaxCols && (csa == 1 || K == 1))) {
    int threads = K <= 0 ? 1 : team_size(fma);
    if (threads <= 1) {
      t.direct(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, accumulate);
    } else if (N >= M) {
      parallel_for(N, cost_of(M * K), [&](int64_t j0, int64_t j1) {
        t.direct(M, j1 - j0, K, A, rsa, csa, B + j0 * csb, rsb, csb, C + j0, ldc, accumulate);
      });
    } else {
      parallel_for(M, cost_of(N * K), [&](int64_t i0, int64_t i1) {
        t.direct(i1 - i0, N, K, A + i0 * rsa, rsa, csa, B, rsb, csb, C + i0 * ldc, ldc, accumulate);
      });
    }
    return;
  }
  int threads = team_size(fma);
  if (threads <= 1) {
    t.packed(M, N, K, A, rsa, csa, B, rsb, csb, C, ldc, accumulate, workspace(t));
    return;
  }
  // Critical path of each split, in multiply-adds: the largest share of tiles, plus packing the
  // operand every thread packs whole (B for a row split, A for a column split; ~8 FMA/element).
  int64_t tiles_m = (M + t.mr - 1) / t.mr, tiles_n = (N + t.nr - 1) / t.nr;
  int64_t cost_m = std::min(M, (tiles_m + threads - 1) / threads * t.mr) * N * K + 8 * K * N;
  int64_t cost_n = std::min(N, (tiles_n + threads - 1) / threads * t.nr) * M * K + 8 * K * M;
  bool split_rows = cost_m <= cost_n;
  int64_t tiles = split_rows ? tiles_m : tiles_n;
  int64_t tile = split_rows ? t.mr : t.nr;
  parallel_for(tiles, cost_of(tile * (split_rows ? N : M) * K), [&](int64_t b, int64_t e) {
    T* ws = workspace(t);
    if (split_rows) {
      int64_t i0 = b * tile, i1 = std::min(M, e * tile);
      t.packed(i1 - i0, N, K, A + i0 * rsa, rsa, csa, B, rsb, csb, C + i0 * ldc, ldc, accumulate, ws);
    } else {
      int64_t j0 = b * tile, j1 = std::min(N, e * tile);
      t.packed(M, j1 - j0, K, A, rsa, csa, B + j0 * csb, rsb, csb, C + j0, ldc, accumulate, ws);
    }
  }, 1);
}

template void gemm<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*, int64_t, int64_t,
                          float*, int64_t, bool);
template void gemm<double>(int64_t, int64_t, int64_t, const double*, int64_t, int64_t, const double*, int64_t,
                           int64_t, double*, int64_t, bool);

}  // namespace backprop::kernels
