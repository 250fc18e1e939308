#pragma once
// Softmax and log-softmax along the middle axis of a contiguous [outer, D, inner] block, and
// their backward passes from the saved output.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "parallel.hpp"

namespace backprop::kernels {

template <bool kLog, class T>
void softmax_middle(const T* x, T* out, int64_t outer, int64_t D, int64_t inner) {
  parallel_for(outer * inner, D * 8, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      int64_t o = k / inner, i = k % inner;
      const T* p = x + o * D * inner + i;
      T* q = out + o * D * inner + i;
      T m = -std::numeric_limits<T>::infinity();
      for (int64_t d = 0; d < D; ++d) m = std::max(m, p[d * inner]);
      if (std::isinf(m) && m < 0) m = 0;
      T s = 0;
      for (int64_t d = 0; d < D; ++d) s += std::exp(p[d * inner] - m);
      if constexpr (kLog) {
        T lse = m + std::log(s);
        for (int64_t d = 0; d < D; ++d) q[d * inner] = p[d * inner] - lse;
      } else {
        for (int64_t d = 0; d < D; ++d) q[d * inner] = std::exp(p[d * inner] - m) / s;
      }
    }
  });
}

/// dx = y * (g - sum(g * y)) for softmax; dx = g - exp(y) * sum(g) for log-softmax.
template <bool kLog, class T>
void softmax_backward_middle(const T* g, const T* y, T* dx, int64_t outer, int64_t D, int64_t inner) {
  parallel_for(outer * inner, D * 4, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      int64_t base = (k / inner) * D * inner + k % inner;
      T s = 0;
      for (int64_t d = 0; d < D; ++d) s += kLog ? g[base + d * inner] : g[base + d * inner] * y[base + d * inner];
      for (int64_t d = 0; d < D; ++d) {
        int64_t j = base + d * inner;
        dx[j] = kLog ? g[j] - std::exp(y[j]) * s : y[j] * (g[j] - s);
      }
    }
  });
}

}  // namespace backprop::kernels
