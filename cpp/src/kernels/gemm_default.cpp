// Portable GEMM micro-kernels: plain C++ that the compiler vectorises for the baseline ISA.
#include "gemm_kernels.hpp"

#define BP_GEMM_ISA portable
#include "gemm_driver.hpp"

namespace backprop::kernels::portable {
namespace {

template <class T_, int MR_, int NR_, int64_t MC_, int64_t KC_, int64_t NC_>
struct KernelPortable {
  using T = T_;
  static constexpr int MR = MR_, NR = NR_;
  static constexpr int64_t MC = MC_, KC = KC_, NC = NC_;

  template <int M>
  static void ukr(int64_t kc, const T* __restrict a, const T* __restrict b, T* c, int64_t ldc, bool acc, int n) {
    T r[M][NR] = {};
    for (int64_t p = 0; p < kc; ++p) {
      for (int i = 0; i < M; ++i) {
        const T av = a[i];
        for (int j = 0; j < NR; ++j) r[i][j] += av * b[j];
      }
      a += MR;
      b += NR;
    }
    for (int i = 0; i < M; ++i) {
      T* cp = c + i * ldc;
      if (acc)
        for (int j = 0; j < n; ++j) cp[j] += r[i][j];
      else
        for (int j = 0; j < n; ++j) cp[j] = r[i][j];
    }
  }

  template <int W>
  static void pack_trans(const T* src, int64_t ld, int n, int64_t kc, T* dst) {
    pack_trans_scalar<W>(src, ld, n, 0, kc, dst);
  }
};

constexpr GemmKernelTable<float> kTableF32 = make_table<KernelPortable<float, 4, 8, 128, 256, 2048>>();
constexpr GemmKernelTable<double> kTableF64 = make_table<KernelPortable<double, 4, 4, 128, 256, 2048>>();

}  // namespace
}  // namespace backprop::kernels::portable

namespace backprop::kernels {
const GemmKernelTable<float>* gemm_table_f32_default() { return &portable::kTableF32; }
const GemmKernelTable<double>* gemm_table_f64_default() { return &portable::kTableF64; }
}  // namespace backprop::kernels
