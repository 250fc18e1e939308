#pragma once
// Class-index and class-probability losses on contiguous (N, C) rows, parallel over rows.
// logp is the log-softmax of the logits (softmax.hpp); w holds one weight per class.
#include <cmath>
#include <cstdint>

#include "parallel.hpp"

namespace backprop::kernels {

/// The first position n whose target t[n] is neither `ignore` nor in [0, C), or -1.
inline int64_t first_bad_target(const int64_t* t, int64_t N, int64_t C, int64_t ignore) {
  for (int64_t n = 0; n < N; ++n)
    if (t[n] != ignore && (t[n] < 0 || t[n] >= C)) return n;
  return -1;
}

/// out[n] = (1 - eps) * -w[t] * logp[n, t] + eps / C * sum_c -w[c] * logp[n, c]; 0 where t == ignore.
template <class T>
void cross_entropy_index_forward(const T* logp, const int64_t* t, const T* w, T* out, int64_t N, int64_t C,
                                 int64_t ignore, double eps) {
  parallel_for(N, eps > 0 ? C : 1, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      if (t[n] == ignore) {
        out[n] = 0;
        continue;
      }
      const T* row = logp + n * C;
      T nll = -w[t[n]] * row[t[n]];
      if (eps > 0) {
        T smooth = 0;
        for (int64_t c = 0; c < C; ++c) smooth -= w[c] * row[c];
        out[n] = static_cast<T>(1 - eps) * nll + static_cast<T>(eps / C) * smooth;
      } else {
        out[n] = nll;
      }
    }
  });
}

/// dx[n, c] = g[n] * ((1 - eps) w[t] (p - [c == t]) + eps / C (sum(w) p - w[c])), p = exp(logp[n, c]).
template <class T>
void cross_entropy_index_backward(const T* logp, const int64_t* t, const T* w, const T* g, T* dx, int64_t N,
                                  int64_t C, int64_t ignore, double eps) {
  T wsum = 0;
  for (int64_t c = 0; c < C; ++c) wsum += w[c];
  parallel_for(N, C * 4, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      T* row = dx + n * C;
      if (t[n] == ignore) {
        for (int64_t c = 0; c < C; ++c) row[c] = 0;
        continue;
      }
      const T* lrow = logp + n * C;
      T a = static_cast<T>(1 - eps) * w[t[n]], bb = static_cast<T>(eps / C);
      for (int64_t c = 0; c < C; ++c) {
        T p = std::exp(lrow[c]);
        row[c] = g[n] * (a * (p - (c == t[n] ? T(1) : T(0))) + bb * (wsum * p - w[c]));
      }
    }
  });
}

/// out[n] = -sum_c w[c] q[n, c] logp[n, c].
template <class T>
void cross_entropy_prob_forward(const T* logp, const T* q, const T* w, T* out, int64_t N, int64_t C) {
  parallel_for(N, C * 2, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) {
      T s = 0;
      for (int64_t c = 0; c < C; ++c) s -= w[c] * q[n * C + c] * logp[n * C + c];
      out[n] = s;
    }
  });
}

/// out[n] = -w[t] * x[n, t]; 0 where t == ignore. Targets must already be checked.
template <class T>
void nll_forward(const T* x, const int64_t* t, const T* w, T* out, int64_t N, int64_t C, int64_t ignore) {
  parallel_for(N, 1, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n) out[n] = t[n] == ignore ? T(0) : -w[t[n]] * x[n * C + t[n]];
  });
}

/// dx[n, t] = -w[t] * g[n] into a zeroed dx; rows whose target is ignored stay 0.
template <class T>
void nll_backward(const int64_t* t, const T* w, const T* g, T* dx, int64_t N, int64_t C, int64_t ignore) {
  parallel_for(N, 1, [&](int64_t b, int64_t e) {
    for (int64_t n = b; n < e; ++n)
      if (t[n] != ignore) dx[n * C + t[n]] = -w[t[n]] * g[n];
  });
}

}  // namespace backprop::kernels
