#pragma once
// Index loops on contiguous buffers with already checked (non-negative, in-range) indices:
// index_select, gather, index_put and their scatter-add backward passes. Reads into distinct
// outputs run in parallel; scatter-adds whose targets may repeat stay serial unless the
// parallel split cannot collide.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "parallel.hpp"

namespace backprop::kernels {

/// out (outer, n, inner) <- x (outer, size, inner) at rows idx[0:n] of the middle axis.
template <class T>
void take_rows(const T* x, T* out, const int64_t* idx, int64_t n, int64_t outer, int64_t size, int64_t inner) {
  parallel_for(outer * n, inner, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t o = r / n, k = r % n;
      std::copy_n(x + (o * size + idx[k]) * inner, inner, out + r * inner);
    }
  });
}

/// out (outer, size, inner) += g (outer, n, inner) at rows idx[0:n]; repeated indices add up.
/// Parallel over `outer` only, whose slabs are disjoint.
template <class T>
void add_rows(const T* g, T* out, const int64_t* idx, int64_t n, int64_t outer, int64_t size, int64_t inner) {
  parallel_for(outer, n * inner, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t k = 0; k < n; ++k) {
        const T* src = g + (o * n + k) * inner;
        T* dst = out + (o * size + idx[k]) * inner;
        for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
      }
  });
}

/// Calls f(x_offset, k) for k in [begin, end) over a contiguous index of shape ishape (nd dims):
/// x_offset addresses a contiguous x with strides xstrides at the coordinates of k, with
/// coordinate `dim` replaced by idx[k].
template <class F>
void walk_gather(const int64_t* idx, const int64_t* ishape, const int64_t* xstrides, int64_t nd, int64_t dim,
                 int64_t begin, int64_t end, F&& f) {
  std::vector<int64_t> pos(static_cast<size_t>(nd), 0);
  int64_t rem = begin;
  for (int64_t d = nd - 1; d >= 0; --d) {
    pos[d] = ishape[d] > 0 ? rem % ishape[d] : 0;
    rem = ishape[d] > 0 ? rem / ishape[d] : 0;
  }
  for (int64_t k = begin; k < end; ++k) {
    int64_t off = 0;
    for (int64_t d = 0; d < nd; ++d) off += (d == dim ? idx[k] : pos[d]) * xstrides[d];
    f(off, k);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++pos[d] < ishape[d]) break;
      pos[d] = 0;
    }
  }
}

/// out[k] = x[offset(k)] for every element k of the index (see walk_gather).
template <class T>
void gather(const T* x, T* out, const int64_t* idx, const int64_t* ishape, const int64_t* xstrides, int64_t nd,
            int64_t dim, int64_t n) {
  parallel_for(n, 2, [&](int64_t b, int64_t e) {
    walk_gather(idx, ishape, xstrides, nd, dim, b, e, [&](int64_t off, int64_t k) { out[k] = x[off]; });
  });
}

/// out[offset(k)] += g[k]: serial, since indices may repeat.
template <class T>
void gather_backward(const T* g, T* out, const int64_t* idx, const int64_t* ishape, const int64_t* xstrides,
                     int64_t nd, int64_t dim, int64_t n) {
  walk_gather(idx, ishape, xstrides, nd, dim, 0, n, [&](int64_t off, int64_t k) { out[off] += g[k]; });
}

/// out[offsets[p] + r] (= or +=) v[p * row + r]; serial, since positions may repeat (the last
/// write wins, as in PyTorch's serial CPU index_put).
template <class T>
void index_put_rows(T* out, const T* v, const int64_t* offsets, int64_t npos, int64_t row, bool accumulate) {
  for (int64_t p = 0; p < npos; ++p) {
    T* dst = out + offsets[p];
    const T* src = v + p * row;
    if (accumulate)
      for (int64_t r = 0; r < row; ++r) dst[r] += src[r];
    else
      std::copy_n(src, row, dst);
  }
}

/// v[p * row + r] = g[offsets[p] + r]: the values' gradient, one distinct output row per p.
template <class T>
void take_offset_rows(const T* g, T* v, const int64_t* offsets, int64_t npos, int64_t row) {
  parallel_for(npos, row, [&](int64_t b, int64_t e) {
    for (int64_t p = b; p < e; ++p) std::copy_n(g + offsets[p], row, v + p * row);
  });
}

/// x[offsets[p] + r] = 0: the input's gradient where index_put overwrote it.
template <class T>
void zero_offset_rows(T* x, const int64_t* offsets, int64_t npos, int64_t row) {
  for (int64_t p = 0; p < npos; ++p) std::fill_n(x + offsets[p], row, T(0));
}

}  // namespace backprop::kernels
