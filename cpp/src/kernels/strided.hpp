#pragma once
// Iteration over N operands that share one shape but have their own (byte) strides. Broadcast
// operands have stride 0. Dimensions that are contiguous for every operand are merged first, so
// the common cases reach the innermost loop as one flat run.
#include <array>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "parallel.hpp"

namespace backprop::kernels {

// Tensors have at most 64 dims (checked where their geometry is made).
constexpr int kMaxDims = 64;

template <size_t N>
struct StridedLayout {
  int ndim = 0;
  int64_t sizes[kMaxDims];
  int64_t strides[N][kMaxDims];  // bytes
};

/// Drops size-1 dims and merges neighbours that are contiguous for every operand.
template <size_t N>
StridedLayout<N> coalesce(int ndim, const int64_t* sizes, const std::array<const int64_t*, N>& strides) {
  StridedLayout<N> l;
  for (int d = 0; d < ndim; ++d) {
    if (sizes[d] == 1) continue;
    if (l.ndim > 0) {
      int last = l.ndim - 1;
      bool mergeable = true;
      for (size_t k = 0; k < N; ++k)
        if (l.strides[k][last] != strides[k][d] * sizes[d]) mergeable = false;
      if (mergeable) {
        l.sizes[last] *= sizes[d];
        for (size_t k = 0; k < N; ++k) l.strides[k][last] = strides[k][d];
        continue;
      }
    }
    l.sizes[l.ndim] = sizes[d];
    for (size_t k = 0; k < N; ++k) l.strides[k][l.ndim] = strides[k][d];
    ++l.ndim;
  }
  if (l.ndim == 0) {
    l.ndim = 1;
    l.sizes[0] = 1;
    for (size_t k = 0; k < N; ++k) l.strides[k][0] = 0;
  }
  return l;
}

/// Calls inner(ptrs, inner_strides, n) for every innermost run, in parallel for large work.
/// `cost` is a rough per-element cost relative to an add.
template <size_t N, class Inner>
void for_each_strided(const StridedLayout<N>& l, std::array<char*, N> base, int64_t cost, Inner&& inner) {
  const int last = l.ndim - 1;
  const int64_t n_inner = l.sizes[last];
  int64_t n_outer = 1;
  for (int d = 0; d < last; ++d) n_outer *= l.sizes[d];
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = l.strides[k][last];

  if (n_outer == 1) {
    // One flat run: split it into pieces.
    parallel_for(n_inner, cost, [&](int64_t begin, int64_t end) {
      std::array<char*, N> p;
      for (size_t k = 0; k < N; ++k) p[k] = base[k] + begin * inner_strides[k];
      inner(p, inner_strides, end - begin);
    });
    return;
  }
  parallel_for(n_outer, n_inner * cost, [&](int64_t begin, int64_t end) {
    int64_t idx[kMaxDims];
    int64_t rem = begin;
    for (int d = last - 1; d >= 0; --d) {
      idx[d] = rem % l.sizes[d];
      rem /= l.sizes[d];
    }
    for (int64_t o = begin; o < end; ++o) {
      std::array<char*, N> p = base;
      for (int d = 0; d < last; ++d)
        for (size_t k = 0; k < N; ++k) p[k] += idx[d] * l.strides[k][d];
      inner(p, inner_strides, n_inner);
      for (int d = last - 1; d >= 0; --d) {
        if (++idx[d] < l.sizes[d]) break;
        idx[d] = 0;
      }
    }
  });
}

template <class Out, class... In, class F, size_t... I>
inline void apply_run(const std::array<char*, sizeof...(In) + 1>& p, const std::array<int64_t, sizeof...(In) + 1>& s,
                      int64_t n, F& f, std::index_sequence<I...>) {
  Out* o = reinterpret_cast<Out*>(p[0]);
  bool all_dense = s[0] == sizeof(Out) && ((s[I + 1] == sizeof(In)) && ...);
  if (all_dense) {
    std::tuple<const In*...> ins{reinterpret_cast<const In*>(p[I + 1])...};
    for (int64_t i = 0; i < n; ++i) o[i] = f(std::get<I>(ins)[i]...);
    return;
  }
  if (s[0] == sizeof(Out)) {
    // Dense output with broadcast or strided inputs.
    for (int64_t i = 0; i < n; ++i)
      o[i] = f(*reinterpret_cast<const In*>(p[I + 1] + i * s[I + 1])...);
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    *reinterpret_cast<Out*>(p[0] + i * s[0]) = f(*reinterpret_cast<const In*>(p[I + 1] + i * s[I + 1])...);
}

/// Applies out = f(in...) elementwise. Operand 0 is the output; element strides given per operand.
template <class Out, class... In, class F>
void map_strided(int ndim, const int64_t* sizes, const std::array<const int64_t*, sizeof...(In) + 1>& elem_strides,
                 Out* out, std::array<const void*, sizeof...(In)> in, int64_t cost, F f) {
  constexpr size_t N = sizeof...(In) + 1;
  constexpr size_t kSizes[N] = {sizeof(Out), sizeof(In)...};
  std::array<std::vector<int64_t>, N> bytes;
  std::array<const int64_t*, N> bptr;
  for (size_t k = 0; k < N; ++k) {
    bytes[k].resize(ndim);
    for (int d = 0; d < ndim; ++d) bytes[k][d] = elem_strides[k][d] * static_cast<int64_t>(kSizes[k]);
    bptr[k] = bytes[k].data();
  }
  auto layout = coalesce<N>(ndim, sizes, bptr);
  std::array<char*, N> base;
  base[0] = reinterpret_cast<char*>(out);
  for (size_t k = 1; k < N; ++k) base[k] = const_cast<char*>(static_cast<const char*>(in[k - 1]));
  for_each_strided<N>(layout, base, cost, [&](const std::array<char*, N>& p, const std::array<int64_t, N>& s, int64_t n) {
    apply_run<Out, In...>(p, s, n, f, std::index_sequence_for<In...>{});
  });
}

/// out[i] = f(a[i * step_a], b[i * step_b]) for dense runs where each step is 0 (a broadcast
/// scalar) or 1: the common elementwise case, without any stride bookkeeping.
template <class Out, class A, class B, class F>
void map_dense(int64_t n, Out* out, const A* a, bool a_scalar, const B* b, bool b_scalar, int64_t cost, F f) {
  parallel_for(n, cost, [&](int64_t begin, int64_t end) {
    if (!a_scalar && !b_scalar) {
      for (int64_t i = begin; i < end; ++i) out[i] = f(a[i], b[i]);
    } else if (b_scalar && !a_scalar) {
      const B bv = *b;
      for (int64_t i = begin; i < end; ++i) out[i] = f(a[i], bv);
    } else if (a_scalar && !b_scalar) {
      const A av = *a;
      for (int64_t i = begin; i < end; ++i) out[i] = f(av, b[i]);
    } else {
      for (int64_t i = begin; i < end; ++i) out[i] = f(*a, *b);
    }
  });
}

/// out[i] = f(x[i]) over a dense run.
template <class Out, class In, class F>
void map_dense(int64_t n, Out* out, const In* x, int64_t cost, F f) {
  parallel_for(n, cost, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) out[i] = f(x[i]);
  });
}

}  // namespace backprop::kernels
