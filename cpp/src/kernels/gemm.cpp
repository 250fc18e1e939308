// A cache-blocked GEMM: B is packed in KC x NC panels, rows of C are split across threads, and
// the innermost loop runs along a contiguous row of the packed panel so the compiler vectorises it.
#include "gemm.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "parallel.hpp"

namespace backprop::kernels {
namespace {
constexpr int64_t kKC = 256;
constexpr int64_t kNC = 1024;
}  // namespace

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
          int64_t csb, T* C, int64_t ldc, bool accumulate) {
  if (M == 0 || N == 0) return;
  if (!accumulate)
    for (int64_t i = 0; i < M; ++i) std::memset(C + i * ldc, 0, sizeof(T) * static_cast<size_t>(N));
  if (K == 0) return;
  std::vector<T> packed(static_cast<size_t>(std::min(K, kKC) * std::min(N, kNC)));
  for (int64_t jc = 0; jc < N; jc += kNC) {
    int64_t nc = std::min(kNC, N - jc);
    for (int64_t pc = 0; pc < K; pc += kKC) {
      int64_t kc = std::min(kKC, K - pc);
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = B + (pc + p) * rsb + jc * csb;
        T* dst = packed.data() + p * nc;
        if (csb == 1)
          std::memcpy(dst, src, sizeof(T) * static_cast<size_t>(nc));
        else
          for (int64_t j = 0; j < nc; ++j) dst[j] = src[j * csb];
      }
      const T* Bp = packed.data();
      parallel_for(M, 2 * kc * nc / 16, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          T* c = C + i * ldc + jc;
          const T* a = A + i * rsa + pc * csa;
          for (int64_t p = 0; p < kc; ++p) {
            const T av = a[p * csa];
            const T* b = Bp + p * nc;
            for (int64_t j = 0; j < nc; ++j) c[j] += av * b[j];
          }
        }
      });
    }
  }
}

template void gemm<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*, int64_t, int64_t,
                          float*, int64_t, bool);
template void gemm<double>(int64_t, int64_t, int64_t, const double*, int64_t, int64_t, const double*, int64_t,
                           int64_t, double*, int64_t, bool);

}  // namespace backprop::kernels
