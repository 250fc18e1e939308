// Higher-order gradients through the C++ API: backward() and grad() with create_graph record the
// backward pass, so its gradients differentiate again. Checked against closed forms.
#include <gtest/gtest.h>

#include <cmath>

#include "backprop/backprop.hpp"

namespace backprop {
namespace {

TEST(HigherOrder, SecondAndThirdDerivativeOfAPolynomial) {
  Tensor x = tensor({1.5, -0.5}, {2}, DType::Float64, true);
  Tensor y = (x * x * x).sum();
  Tensor dy = grad({y}, {x}, {}, false, false, true)[0];
  ASSERT_TRUE(dy.requires_grad());
  Tensor d2y = grad({dy.sum()}, {x}, {}, false, false, true)[0];
  Tensor d3y = grad({d2y.sum()}, {x})[0];
  EXPECT_NEAR(dy.to_vector()[0], 3 * 1.5 * 1.5, 1e-12);
  EXPECT_NEAR(d2y.to_vector()[1], 6 * -0.5, 1e-12);
  EXPECT_NEAR(d3y.to_vector()[0], 6.0, 1e-12);
}

TEST(HigherOrder, SavedOutputsCarryTheGraph) {
  // exp and tanh save their output; differentiating their gradient must go through it.
  Tensor x = tensor({0.3, -1.2}, {2}, DType::Float64, true);
  Tensor dy = grad({(exp(x) + tanh(x)).sum()}, {x}, {}, false, false, true)[0];
  Tensor d2y = grad({dy.sum()}, {x})[0];
  for (int i = 0; i < 2; ++i) {
    double v = x.to_vector()[i], t = std::tanh(v);
    EXPECT_NEAR(d2y.to_vector()[i], std::exp(v) - 2 * t * (1 - t * t), 1e-12);
  }
}

TEST(HigherOrder, BackwardWithCreateGraphKeepsTheGraphInGrad) {
  Tensor x = tensor({2.0}, {1}, DType::Float64, true);
  (x * x * x).sum().backward(Tensor(), true, true);
  Tensor g = x.grad();
  ASSERT_TRUE(g.requires_grad());
  EXPECT_NEAR(g.item(), 12.0, 1e-12);
  Tensor d2 = grad({g.sum()}, {x})[0];
  EXPECT_NEAR(d2.item(), 12.0, 1e-12);
  // x -> .grad -> its graph -> x's accumulator is a reference cycle, as in PyTorch; clearing
  // .grad breaks it (the leak checker finds it otherwise).
  x.set_grad(Tensor());
}

TEST(HigherOrder, FusedLinearActivationAndCrossEntropyDifferentiateTwice) {
  // Hessian-vector product of a loss through the fused ops, against finite differences of the
  // first gradient along v.
  Tensor x = tensor({0.2, -0.4, 0.7, 0.1, -0.3, 0.5}, {2, 3}, DType::Float64);
  Tensor w = tensor({0.3, -0.2, 0.5, 0.1, 0.4, -0.6}, {2, 3}, DType::Float64, true);
  Tensor b = tensor({0.05, -0.1}, {2}, DType::Float64, true);
  Tensor target = tensor({1.0, 0.0}, {2}, DType::Int64);
  Tensor v = tensor({1.0, -0.5, 0.25, 0.3, 0.2, -0.1}, {2, 3}, DType::Float64);
  auto loss_of = [&](const Tensor& weight) {
    return cross_entropy(linear_activation(x, weight, b, "tanh"), target);
  };
  Tensor g = grad({loss_of(w)}, {w}, {}, false, false, true)[0];
  Tensor hv = grad({(g * v).sum()}, {w})[0];
  double eps = 1e-6;
  Tensor wp = (w.detach() + v * eps).requires_grad_(true), wm = (w.detach() - v * eps).requires_grad_(true);
  Tensor gp = grad({loss_of(wp)}, {wp})[0], gm = grad({loss_of(wm)}, {wm})[0];
  std::vector<double> numeric = ((gp - gm) / (2 * eps)).to_vector(), analytic = hv.to_vector();
  for (size_t i = 0; i < analytic.size(); ++i) EXPECT_NEAR(analytic[i], numeric[i], 1e-6);
}

TEST(HigherOrder, WithoutCreateGraphGradientsHaveNoGraph) {
  Tensor x = tensor({1.0, 2.0}, {2}, DType::Float64, true);
  Tensor g = grad({(exp(x) * x).sum()}, {x})[0];
  EXPECT_FALSE(g.requires_grad());
  EXPECT_TRUE(is_grad_enabled());
}

}  // namespace
}  // namespace backprop
