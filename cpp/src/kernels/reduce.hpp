#pragma once
// Reductions over the middle axis of a contiguous [outer, R, inner] block: the layout every
// reduction is brought to (reducing a trailing block is inner = 1, a leading one outer = 1).
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "parallel.hpp"

namespace backprop::kernels {

template <class T>
using acc_t = std::conditional_t<std::is_same_v<T, float>, double, T>;

/// out[o, i] = sum_r x[o, r, i]. float32 accumulates in double.
template <class T>
void sum_middle(const T* x, T* out, int64_t outer, int64_t R, int64_t inner) {
  if (inner == 1) {
    parallel_for(outer, R, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        const T* p = x + o * R;
        acc_t<T> acc[4] = {0, 0, 0, 0};
        int64_t r = 0;
        for (; r + 4 <= R; r += 4) {
          acc[0] += p[r];
          acc[1] += p[r + 1];
          acc[2] += p[r + 2];
          acc[3] += p[r + 3];
        }
        for (; r < R; ++r) acc[0] += p[r];
        out[o] = static_cast<T>((acc[0] + acc[1]) + (acc[2] + acc[3]));
      }
    });
    return;
  }
  // Columns: split over outer, or over inner when there is a single outer block.
  auto columns = [&](int64_t o, int64_t ib, int64_t ie) {
    std::vector<acc_t<T>> acc(static_cast<size_t>(ie - ib), 0);
    for (int64_t r = 0; r < R; ++r) {
      const T* p = x + (o * R + r) * inner;
      for (int64_t i = ib; i < ie; ++i) acc[i - ib] += p[i];
    }
    for (int64_t i = ib; i < ie; ++i) out[o * inner + i] = static_cast<T>(acc[i - ib]);
  };
  if (outer > 1) {
    parallel_for(outer, R * inner, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) columns(o, 0, inner);
    });
  } else {
    parallel_for(inner, R, [&](int64_t b, int64_t e) { columns(0, b, e); });
  }
}

/// Largest (kMax) or smallest value along R and the index of its first occurrence; NaN wins.
template <bool kMax, class T>
void extremum_middle(const T* x, T* values, int64_t* indices, int64_t outer, int64_t R, int64_t inner) {
  parallel_for(outer * inner, R, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      int64_t o = k / inner, i = k % inner;
      const T* p = x + o * R * inner + i;
      T best = p[0];
      int64_t best_r = 0;
      for (int64_t r = 1; r < R; ++r) {
        T v = p[r * inner];
        if constexpr (std::is_floating_point_v<T>) {
          if (best != best) break;
          if (v != v) {
            best = v;
            best_r = r;
            break;
          }
        }
        if (kMax ? v > best : v < best) {
          best = v;
          best_r = r;
        }
      }
      if (values) values[k] = best;
      if (indices) indices[k] = best_r;
    }
  });
}

}  // namespace backprop::kernels
