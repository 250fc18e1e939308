// GEMM for AVX2 + FMA: the x86 template (gemm_x86.hpp) on 256-bit vectors. Compiled with the
// flags set in cmake/KernelFlags.cmake and run only when cpu_dispatch selects avx2.
#include "gemm_kernels.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#define BP_GEMM_ISA avx2
#include "gemm_driver.hpp"
#include "gemm_x86.hpp"

namespace backprop::kernels::avx2 {
namespace {

// 6 rows x 2 vectors: 12 accumulators, 2 B vectors and a broadcast fill the 16 ymm registers.
using KernelF32 = KernelX86<Ymm<float>, 6, 2, 144, 512, 2048>;
using KernelF64 = KernelX86<Ymm<double>, 6, 2, 96, 256, 2048>;

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
