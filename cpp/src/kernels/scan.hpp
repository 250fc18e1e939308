#pragma once
// Inclusive scans (running sum, running product) along the middle axis of a contiguous
// [outer, n, inner] block, the layout cumsum and cumprod bring their input to.
#include <cstdint>
#include <type_traits>

#include "parallel.hpp"

namespace backprop::kernels {

/// out[o, k, i] = x[o, 0, i] (op) ... (op) x[o, k, i]. Along a contiguous axis (inner == 1) float32
/// carries its running value in double, so a long scan drifts no more than float64 would; the
/// row-at-a-time path reads each previous row back in float32.
template <class T, class Op>
void scan_middle(const T* x, T* out, int64_t outer, int64_t n, int64_t inner, T identity, Op op) {
  using acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
  if (inner == 1) {
    parallel_for(outer, n, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* p = x + o * n;
        T* q = out + o * n;
        acc a = identity;
        for (int64_t k = 0; k < n; ++k) {
          a = op(a, static_cast<acc>(p[k]));
          q[k] = static_cast<T>(a);
        }
      }
    });
    return;
  }
  // Rows of `inner` contiguous elements: each step combines a whole row with the previous one,
  // a unit-stride loop the compiler vectorises.
  parallel_for(outer, n * inner, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* p = x + o * n * inner;
      T* q = out + o * n * inner;
      for (int64_t i = 0; i < inner; ++i) q[i] = p[i];
      for (int64_t k = 1; k < n; ++k) {
        const T* prev = q + (k - 1) * inner;
        const T* cur = p + k * inner;
        T* dst = q + k * inner;
        for (int64_t i = 0; i < inner; ++i) dst[i] = static_cast<T>(op(static_cast<acc>(prev[i]), static_cast<acc>(cur[i])));
      }
    }
  });
}

}  // namespace backprop::kernels
