#pragma once
// The per-ISA GEMM implementations behind kernels::gemm: each SIMD translation unit (compiled
// with its own flags, see cmake/KernelFlags.cmake) fills one table; gemm.cpp picks one by
// active_isa() and adds threading and workspace.
#include <cstddef>
#include <cstdint>

#include "cpu_dispatch.hpp"

namespace backprop::kernels {

template <class T>
struct GemmKernelTable {
  int mr, nr;          // register tile: mr rows x nr columns of C
  int64_t mc, kc, nc;  // cache blocks: packed A is mc x kc, packed B is kc x nc
  /// Elements of workspace `packed` needs (aligned to 64 bytes by the caller).
  size_t workspace;
  /// Serial packed GEMM on the whole given problem (same arguments as kernels::gemm).
  void (*packed)(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
                 int64_t csb, T* C, int64_t ldc, bool accumulate, T* workspace);
  /// Serial unpacked loop for small products; K may be 0.
  void (*direct)(int64_t M, int64_t N, int64_t K, const T* A, int64_t rsa, int64_t csa, const T* B, int64_t rsb,
                 int64_t csb, T* C, int64_t ldc, bool accumulate);
};

// One getter per variant; nullptr when the variant was not compiled into this build.
const GemmKernelTable<float>* gemm_table_f32_default();
const GemmKernelTable<double>* gemm_table_f64_default();
const GemmKernelTable<float>* gemm_table_f32_avx2();
const GemmKernelTable<double>* gemm_table_f64_avx2();
const GemmKernelTable<float>* gemm_table_f32_avx512();
const GemmKernelTable<double>* gemm_table_f64_avx512();

template <class T>
const GemmKernelTable<T>* gemm_table(Isa isa);

template <>
inline const GemmKernelTable<float>* gemm_table<float>(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return gemm_table_f32_avx512();
    case Isa::Avx2:
      return gemm_table_f32_avx2();
    default:
      return gemm_table_f32_default();
  }
}

template <>
inline const GemmKernelTable<double>* gemm_table<double>(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return gemm_table_f64_avx512();
    case Isa::Avx2:
      return gemm_table_f64_avx2();
    default:
      return gemm_table_f64_default();
  }
}

}  // namespace backprop::kernels
