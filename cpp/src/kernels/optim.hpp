#pragma once
// Fused optimizer updates: one pass over a parameter, its gradient and its state buffers.
// The arithmetic follows torch.optim's single-tensor code path operation by operation (scalars
// rounded to the parameter's type), so trajectories agree with PyTorch to rounding.
#include <cmath>
#include <cstdint>


namespace backprop::kernels {

// PyTorch's lerp: the formula switches at weight 0.5 to stay accurate near both ends.
template <class T>
inline T lerp(T self, T end, T weight) {
  return std::abs(weight) < T(0.5) ? self + weight * (end - self) : end - (end - self) * (T(1) - weight);
}

template <class T>
struct SgdArgs {
  T lr, momentum, dampening, weight_decay;
  bool nesterov, maximize, first_step;
};

// The flags are template arguments so that each combination is a branch-free loop the compiler
// vectorises; `restrict` because a parameter never aliases its gradient or state.
template <class T, bool kMaximize, bool kDecay, bool kMomentum>
void sgd_range(T* __restrict p, const T* __restrict g, T* __restrict buf, int64_t b, int64_t e, const SgdArgs<T>& a) {
  const T lr = -a.lr, wd = a.weight_decay, mom = a.momentum, keep = T(1) - a.dampening;
  for (int64_t i = b; i < e; ++i) {
    T d = kMaximize ? -g[i] : g[i];
    if constexpr (kDecay) d = d + wd * p[i];
    if constexpr (kMomentum) {
      T m = a.first_step ? d : buf[i] * mom + keep * d;
      buf[i] = m;
      d = a.nesterov ? d + mom * m : m;
    }
    p[i] = p[i] + lr * d;
  }
}

/// One SGD step over elements [b, e) of a parameter (serial: the caller splits the work).
template <class T>
void sgd_update(T* p, const T* g, T* buf, int64_t b, int64_t e, const SgdArgs<T>& a) {
  bool decay = a.weight_decay != T(0), momentum = a.momentum != T(0);
  int which = (a.maximize ? 4 : 0) | (decay ? 2 : 0) | (momentum ? 1 : 0);
  switch (which) {
    case 0: return sgd_range<T, false, false, false>(p, g, buf, b, e, a);
    case 1: return sgd_range<T, false, false, true>(p, g, buf, b, e, a);
    case 2: return sgd_range<T, false, true, false>(p, g, buf, b, e, a);
    case 3: return sgd_range<T, false, true, true>(p, g, buf, b, e, a);
    case 4: return sgd_range<T, true, false, false>(p, g, buf, b, e, a);
    case 5: return sgd_range<T, true, false, true>(p, g, buf, b, e, a);
    case 6: return sgd_range<T, true, true, false>(p, g, buf, b, e, a);
    default: return sgd_range<T, true, true, true>(p, g, buf, b, e, a);
  }
}

template <class T>
struct AdamArgs {
  T lr, beta1, beta2, eps, weight_decay;
  T step_size;              // lr / (1 - beta1^step)
  T bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  T decay_factor;           // 1 - lr * weight_decay (decoupled only)
  bool amsgrad, maximize, decoupled;
};

/// One Adam/AdamW step over elements [b, e) of a parameter (serial: the caller splits the work).
template <class T>
void adam_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T* __restrict vmax,
                 int64_t b, int64_t e, const AdamArgs<T>& a) {
  const T one_minus_beta1 = T(1) - a.beta1, one_minus_beta2 = T(1) - a.beta2;
  for (int64_t i = b; i < e; ++i) {
    T d = a.maximize ? -g[i] : g[i];
    if (a.decoupled)
      p[i] = p[i] * a.decay_factor;
    else if (a.weight_decay != T(0))
      d = d + a.weight_decay * p[i];
    m[i] = lerp(m[i], d, one_minus_beta1);
    v[i] = v[i] * a.beta2 + one_minus_beta2 * d * d;
    T second = v[i];
    if (a.amsgrad) {
      vmax[i] = vmax[i] > v[i] ? vmax[i] : v[i];
      second = vmax[i];
    }
    T denom = std::sqrt(second) / a.bias_correction2_sqrt + a.eps;
    p[i] = p[i] + (-a.step_size) * (m[i] / denom);
  }
}

template <class T>
struct RmspropArgs {
  T lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
};

/// One RMSprop step over elements [b, e) of a parameter (serial: the caller splits the work).
template <class T>
void rmsprop_update(T* __restrict p, const T* __restrict g, T* __restrict square_avg, T* __restrict grad_avg,
                    T* __restrict buf, int64_t b, int64_t e, const RmspropArgs<T>& a) {
  const T one_minus_alpha = T(1) - a.alpha;
  for (int64_t i = b; i < e; ++i) {
    T d = a.maximize ? -g[i] : g[i];
    if (a.weight_decay != T(0)) d = d + a.weight_decay * p[i];
    square_avg[i] = square_avg[i] * a.alpha + one_minus_alpha * d * d;
    T avg;
    if (a.centered) {
      grad_avg[i] = lerp(grad_avg[i], d, one_minus_alpha);
      avg = std::sqrt(square_avg[i] + T(-1) * grad_avg[i] * grad_avg[i]);
    } else {
      avg = std::sqrt(square_avg[i]);
    }
    avg = avg + a.eps;
    if (a.momentum > T(0)) {
      buf[i] = buf[i] * a.momentum + d / avg;
      p[i] = p[i] + (-a.lr) * buf[i];
    } else {
      p[i] = p[i] + (-a.lr) * (d / avg);
    }
  }
}

}  // namespace backprop::kernels
