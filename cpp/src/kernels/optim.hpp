#pragma once
// Fused optimizer updates: one pass over a parameter, its gradient and its state buffers.
// The arithmetic follows torch.optim's single-tensor code path operation by operation (scalars
// rounded to the parameter's type), so trajectories agree with PyTorch to rounding.
#include <cmath>
#include <cstdint>

#include "parallel.hpp"

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

template <class T>
void sgd_update(T* p, const T* g, T* buf, int64_t n, const SgdArgs<T>& a) {
  parallel_for(n, 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      T d = a.maximize ? -g[i] : g[i];
      if (a.weight_decay != T(0)) d = d + a.weight_decay * p[i];
      if (a.momentum != T(0)) {
        buf[i] = a.first_step ? d : buf[i] * a.momentum + (T(1) - a.dampening) * d;
        d = a.nesterov ? d + a.momentum * buf[i] : buf[i];
      }
      p[i] = p[i] + (-a.lr) * d;
    }
  });
}

template <class T>
struct AdamArgs {
  T lr, beta1, beta2, eps, weight_decay;
  T step_size;              // lr / (1 - beta1^step)
  T bias_correction2_sqrt;  // sqrt(1 - beta2^step)
  T decay_factor;           // 1 - lr * weight_decay (decoupled only)
  bool amsgrad, maximize, decoupled;
};

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, T* vmax, int64_t n, const AdamArgs<T>& a) {
  const T one_minus_beta1 = T(1) - a.beta1, one_minus_beta2 = T(1) - a.beta2;
  parallel_for(n, 8, [&](int64_t b, int64_t e) {
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
  });
}

template <class T>
struct RmspropArgs {
  T lr, alpha, eps, weight_decay, momentum;
  bool centered, maximize;
};

template <class T>
void rmsprop_update(T* p, const T* g, T* square_avg, T* grad_avg, T* buf, int64_t n, const RmspropArgs<T>& a) {
  const T one_minus_alpha = T(1) - a.alpha;
  parallel_for(n, 8, [&](int64_t b, int64_t e) {
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
  });
}

}  // namespace backprop::kernels
