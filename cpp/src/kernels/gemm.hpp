#pragma once
// C (M x N, row stride ldc, unit column stride) = or += A (M x K) * B (K x N).
// A and B are read through arbitrary element strides, so transposed operands cost nothing extra.
#include <cstdint>

namespace backprop::kernels {

template <class T>
void gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t a_row_stride, int64_t a_col_stride, const T* B,
          int64_t b_row_stride, int64_t b_col_stride, T* C, int64_t ldc, bool accumulate);

extern template void gemm<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*, int64_t,
                                 int64_t, float*, int64_t, bool);
extern template void gemm<double>(int64_t, int64_t, int64_t, const double*, int64_t, int64_t, const double*, int64_t,
                                  int64_t, double*, int64_t, bool);

}  // namespace backprop::kernels
