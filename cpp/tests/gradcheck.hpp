#pragma once
// Finite-difference gradient checks for the C++ tests.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "backprop/backprop.hpp"

namespace backprop::testing {

/// float64 leaf with values drawn from [lo, hi) by the seeded generator.
inline Tensor leaf(const Shape& shape, double lo = -1.0, double hi = 1.0) {
  Tensor t = rand(shape, DType::Float64) * (hi - lo) + lo;
  Tensor out = t.detach();
  out.requires_grad_(true);
  return out;
}

/// Compares backward's gradients of sum(f(inputs) * w), for fixed random w, with central
/// differences. Inputs must be float64 leaves.
inline void expect_gradients(const std::function<Tensor(const std::vector<Tensor>&)>& f, std::vector<Tensor> inputs,
                             double eps = 1e-6, double atol = 1e-6, double rtol = 1e-4) {
  for (Tensor& x : inputs) x.set_grad(Tensor());  // inputs may be shared between checks
  Tensor out = f(inputs);
  manual_seed(1234);
  Tensor w = rand(out.shape(), DType::Float64) + 0.5;
  (out * w).sum().backward();
  for (size_t k = 0; k < inputs.size(); ++k) {
    Tensor x = inputs[k];
    if (!x.requires_grad()) continue;
    ASSERT_TRUE(x.grad().defined()) << "input " << k << " got no gradient";
    std::vector<double> analytic = x.grad().to_vector();
    double* data = x.data<double>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double orig = data[i];
      NoGradGuard no_grad;
      data[i] = orig + eps;
      double plus = (f(inputs) * w).sum().item();
      data[i] = orig - eps;
      double minus = (f(inputs) * w).sum().item();
      data[i] = orig;
      double numeric = (plus - minus) / (2 * eps);
      EXPECT_NEAR(analytic[i], numeric, atol + rtol * std::abs(numeric)) << "input " << k << " element " << i;
    }
  }
}

}  // namespace backprop::testing
