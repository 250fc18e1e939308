#pragma once
// Sorting every slice along the middle axis of a contiguous [outer, n, inner] block: values and
// the Int64 positions they came from.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "parallel.hpp"

namespace backprop::kernels {

/// NaN orders above every number (last ascending, first descending), as in NumPy and PyTorch.
template <class T>
inline bool sort_less(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
  }
  return a < b;
}

/// Writes the first `k` entries of each sorted slice (k = n sorts fully). The sort is stable: equal
/// values keep their input order, in either direction. With `k` < n only the k leading entries are
/// ordered (a partial sort), which is what topk needs.
template <class T>
void sort_middle(const T* x, T* values, int64_t* indices, int64_t outer, int64_t n, int64_t inner, int64_t k,
                 bool descending) {
  int64_t slices = outer * inner;
  int64_t log_n = 1;
  while ((int64_t{1} << log_n) < n) ++log_n;
  parallel_for(slices, n * log_n, [&](int64_t b, int64_t e) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t s = b; s < e; ++s) {
      int64_t o = s / inner, i = s % inner;
      const T* p = x + o * n * inner + i;
      std::iota(order.begin(), order.end(), int64_t{0});
      auto cmp = [p, inner, descending](int64_t a, int64_t c) {
        T va = p[a * inner], vc = p[c * inner];
        if (descending ? sort_less(vc, va) : sort_less(va, vc)) return true;
        if (descending ? sort_less(va, vc) : sort_less(vc, va)) return false;
        return a < c;  // ties keep their input order
      };
      if (k < n)
        std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
      else
        std::sort(order.begin(), order.end(), cmp);
      T* v = values + o * k * inner + i;
      int64_t* ix = indices + o * k * inner + i;
      for (int64_t r = 0; r < k; ++r) {
        v[r * inner] = p[order[r] * inner];
        ix[r * inner] = order[r];
      }
    }
  });
}

}  // namespace backprop::kernels
