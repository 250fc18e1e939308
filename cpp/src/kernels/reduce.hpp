#pragma once
// Reductions over the middle axis of a contiguous [outer, R, inner] block: the layout every
// reduction is brought to (reducing a trailing block is inner = 1, a leading one outer = 1).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "parallel.hpp"

namespace backprop::kernels {

/// Whether x[0..n) holds a NaN (*nan) or an infinity (*inf); stops at the first NaN.
template <class T>
void find_nonfinite(const T* x, int64_t n, bool* nan, bool* inf) {
  *nan = *inf = false;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(x[i])) {
      *nan = true;
      return;
    }
    if (std::isinf(x[i])) *inf = true;
  }
}

template <class T>
using acc_t = std::conditional_t<std::is_same_v<T, float>, double, T>;

/// Sum of p[0..n) in acc_t<T>: eight running sums, independent add chains, so the loop runs at
/// the adder's throughput instead of its latency (four chains ran at 0.2 ns an element).
template <class T>
acc_t<T> sum_run(const T* p, int64_t n) {
  acc_t<T> a[8] = {};
  int64_t r = 0;
  for (; r + 8 <= n; r += 8)
    for (int k = 0; k < 8; ++k) a[k] += p[r + k];
  for (; r < n; ++r) a[r % 8] += p[r];
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/// Rows are summed in blocks of this many elements, the block sums added in order: a row's sum
/// is the same whether its blocks ran on one thread or on several.
constexpr int64_t kSumBlock = 16384;

/// The sum of block k of p[0..n).
template <class T>
acc_t<T> sum_block(const T* p, int64_t n, int64_t k) {
  return sum_run(p + k * kSumBlock, std::min(kSumBlock, n - k * kSumBlock));
}

inline int64_t sum_block_count(int64_t n) {
  return (n + kSumBlock - 1) / kSumBlock;
}

template <class T>
acc_t<T> sum_blocks(const T* p, int64_t n) {
  acc_t<T> s = 0;
  for (int64_t k = 0; k < sum_block_count(n); ++k) s += sum_block(p, n, k);
  return s;
}

/// out[o, i] = sum_r x[o, r, i]. float32 accumulates in double.
template <class T>
void sum_middle(const T* x, T* out, int64_t outer, int64_t R, int64_t inner) {
  if (inner == 1) {
    if (outer == 1 && R > kSumBlock) {
      // One long row (a full reduction): its blocks are the parallel work.
      int64_t blocks = sum_block_count(R);
      std::vector<acc_t<T>> part(static_cast<size_t>(blocks));
      parallel_for(blocks, kSumBlock, [&](int64_t b, int64_t e) {
        for (int64_t k = b; k < e; ++k) part[k] = sum_block(x, R, k);
      });
      acc_t<T> s = 0;
      for (acc_t<T> v : part) s += v;
      out[0] = static_cast<T>(s);
      return;
    }
    parallel_for(outer, R, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) out[o] = static_cast<T>(sum_blocks(x + o * R, R));
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

/// out[o, i] = mean_r x[o, r, i].
template <class T>
void mean_middle(const T* x, T* out, int64_t outer, int64_t R, int64_t inner) {
  sum_middle(x, out, outer, R, inner);
  const T scale = static_cast<T>(R);
  parallel_for(outer * inner, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) out[k] /= scale;
  });
}

/// out[o, idx[o, i], i] = g[o, i] into a zeroed out (outer, R, inner): the backward of a
/// reduction that picked one element per (o, i). Targets are distinct, so it runs in parallel.
template <class T>
void scatter_middle(const T* g, const int64_t* idx, T* out, int64_t outer, int64_t R, int64_t inner) {
  parallel_for(outer * inner, 1, [&](int64_t b, int64_t e) {
    for (int64_t k = b; k < e; ++k) {
      int64_t o = k / inner, i = k % inner;
      out[(o * R + idx[k]) * inner + i] = g[k];
    }
  });
}

/// sum |x|^p over x[0:n] (max |x| for p = inf, NaN if any is NaN), accumulated in double, in
/// fixed blocks whose partial results combine in order: the result does not depend on the
/// number of threads.
template <class T>
double norm_partial(const T* x, int64_t n, double p) {
  constexpr int64_t kBlock = 8192;
  int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> part(static_cast<size_t>(blocks), 0.0);
  const bool inf = std::isinf(p);
  parallel_for(blocks, kBlock * (p == 1.0 || p == 2.0 || inf ? 1 : 16), [&](int64_t b, int64_t e) {
    for (int64_t blk = b; blk < e; ++blk) {
      int64_t lo = blk * kBlock, hi = std::min(n, lo + kBlock);
      double acc = 0;
      for (int64_t i = lo; i < hi; ++i) {
        double a = std::abs(static_cast<double>(x[i]));
        if (inf)
          acc = std::max(acc, a) + (a != a ? a : 0.0);
        else if (p == 2.0)
          acc += a * a;
        else if (p == 1.0)
          acc += a;
        else
          acc += std::pow(a, p);
      }
      part[static_cast<size_t>(blk)] = acc;
    }
  });
  double total = 0;
  for (double v : part) total = inf ? std::max(total, v) + (v != v ? v : 0.0) : total + v;
  return total;
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
