#pragma once
// Fused updates of NAdam, RAdam, Adamax and Adagrad: one pass over a parameter, its gradient and
// its state buffers. As in optim.hpp, the arithmetic follows torch.optim's single-tensor code
// path operation by operation, with the per-step scalars computed by the caller in double.
#include <cmath>
#include <cstdint>

#include "optim.hpp"

namespace backprop::kernels {

// The gradient as the update sees it: negated to maximize, with L2 decay added, or the
// parameter shrunk first for decoupled decay.
template <class T>
inline T decayed_grad(T& p, T g, T weight_decay, T decay_factor, bool maximize, bool decoupled) {
  T d = maximize ? -g : g;
  if (weight_decay != T(0)) {
    if (decoupled)
      p = p * decay_factor;
    else
      d = d + weight_decay * p;
  }
  return d;
}

template <class T>
struct NadamArgs {
  T beta1, beta2, eps, weight_decay;
  T decay_factor;      // 1 - lr * weight_decay (decoupled only)
  T bias_correction2;  // 1 - beta2^step
  T grad_coef;         // -lr * (1 - mu_t) / (1 - prod_{i<=t} mu_i)
  T avg_coef;          // -lr * mu_{t+1} / (1 - prod_{i<=t+1} mu_i)
  bool maximize, decoupled;
};

/// One NAdam step over elements [b, e) of a parameter (serial: the caller splits the work).
template <class T>
void nadam_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t b, int64_t e,
                  const NadamArgs<T>& a) {
  const T one_minus_beta1 = T(1) - a.beta1, one_minus_beta2 = T(1) - a.beta2;
  for (int64_t i = b; i < e; ++i) {
    T d = decayed_grad(p[i], g[i], a.weight_decay, a.decay_factor, a.maximize, a.decoupled);
    m[i] = lerp(m[i], d, one_minus_beta1);
    v[i] = v[i] * a.beta2 + one_minus_beta2 * d * d;
    T denom = std::sqrt(v[i] / a.bias_correction2) + a.eps;
    p[i] = p[i] + a.grad_coef * (d / denom);
    p[i] = p[i] + a.avg_coef * (m[i] / denom);
  }
}

template <class T>
struct RadamArgs {
  T lr, beta1, beta2, eps, weight_decay;
  T decay_factor;            // 1 - lr * weight_decay (decoupled only)
  T bias_correction1;        // 1 - beta1^step
  T bias_correction2_sqrt;   // sqrt(1 - beta2^step)
  T rect;                    // the variance rectification term, when `rectified`
  bool rectified, maximize, decoupled;
};

/// One RAdam step over elements [b, e) of a parameter (serial: the caller splits the work).
template <class T>
void radam_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, int64_t b, int64_t e,
                  const RadamArgs<T>& a) {
  const T one_minus_beta1 = T(1) - a.beta1, one_minus_beta2 = T(1) - a.beta2;
  for (int64_t i = b; i < e; ++i) {
    T d = decayed_grad(p[i], g[i], a.weight_decay, a.decay_factor, a.maximize, a.decoupled);
    m[i] = lerp(m[i], d, one_minus_beta1);
    v[i] = v[i] * a.beta2 + one_minus_beta2 * d * d;
    T step = (m[i] / a.bias_correction1) * a.lr;
    if (a.rectified) {
      // PyTorch divides a scalar by a tensor as reciprocal-then-multiply.
      T adaptive = (T(1) / (std::sqrt(v[i]) + a.eps)) * a.bias_correction2_sqrt;
      step = step * adaptive * a.rect;
    }
    p[i] = p[i] - step;
  }
}

template <class T>
struct AdamaxArgs {
  T beta1, beta2, eps, weight_decay;
  T step_size;  // lr / (1 - beta1^step)
  bool maximize;
};

/// One Adamax step over elements [b, e) of a parameter (serial: the caller splits the work).
template <class T>
void adamax_update(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict u, int64_t b, int64_t e,
                   const AdamaxArgs<T>& a) {
  const T one_minus_beta1 = T(1) - a.beta1;
  for (int64_t i = b; i < e; ++i) {
    T d = decayed_grad(p[i], g[i], a.weight_decay, T(1), a.maximize, false);
    m[i] = lerp(m[i], d, one_minus_beta1);
    T decayed = u[i] * a.beta2, current = std::abs(d) + a.eps;
    // NaN in either side propagates, as torch.maximum does.
    u[i] = std::isnan(decayed) || decayed > current ? decayed : current;
    p[i] = p[i] + (-a.step_size) * (m[i] / u[i]);
  }
}

template <class T>
struct AdagradArgs {
  T eps, weight_decay;
  T clr;  // lr / (1 + (step - 1) * lr_decay)
  bool maximize;
};

/// One Adagrad step over elements [b, e) of a parameter (serial: the caller splits the work).
template <class T>
void adagrad_update(T* __restrict p, const T* __restrict g, T* __restrict sum, int64_t b, int64_t e,
                    const AdagradArgs<T>& a) {
  for (int64_t i = b; i < e; ++i) {
    T d = decayed_grad(p[i], g[i], a.weight_decay, T(1), a.maximize, false);
    sum[i] = sum[i] + d * d;
    T std_dev = std::sqrt(sum[i]) + a.eps;
    p[i] = p[i] + (-a.clr) * (d / std_dev);
  }
}

}  // namespace backprop::kernels
