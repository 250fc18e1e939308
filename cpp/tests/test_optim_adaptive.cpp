// NAdam, RAdam, Adamax and Adagrad of the C++ API against the algorithms written out per element
// in plain double arithmetic, on loss = sum(p^2) (gradient 2p) over 40 steps.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "backprop/backprop.hpp"

namespace backprop {
namespace {

constexpr int kSteps = 40;
const std::vector<double> kStart{1.0, -2.0, 0.5};

// One step of an algorithm on one element: (parameter, gradient, step number from 1, state).
using Reference = std::function<void(double& p, double g, int t, std::vector<double>& state)>;

void expect_matches(optim::Optimizer& opt, Tensor& p, const Reference& reference) {
  std::vector<double> expected = kStart;
  std::vector<std::vector<double>> state(expected.size(), std::vector<double>(4, 0.0));
  for (int t = 1; t <= kSteps; ++t) {
    opt.zero_grad();
    (p * p).sum().backward();
    opt.step();
    for (size_t i = 0; i < expected.size(); ++i) reference(expected[i], 2 * expected[i], t, state[i]);
    std::vector<double> got = p.to_vector();
    for (size_t i = 0; i < expected.size(); ++i)
      ASSERT_NEAR(got[i], expected[i], 1e-12 * (1 + std::abs(expected[i]))) << opt.name() << " step " << t;
  }
  EXPECT_EQ(opt.state(p).step, kSteps);
}

Tensor start() { return tensor(kStart, {3}, DType::Float64, true); }

TEST(OptimAdaptive, NAdamFollowsItsDefinition) {
  for (bool decoupled : {false, true}) {
    const double lr = 0.05, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.1, md = 0.02;
    Tensor p = start();
    optim::NAdam opt({p}, lr, b1, b2, eps, wd, md, decoupled);
    double mu_product = 1;  // shared by all elements: it depends on the step only
    int last_t = 0;
    expect_matches(opt, p, [&](double& x, double g, int t, std::vector<double>& s) {
      if (decoupled)
        x *= 1 - lr * wd;
      else
        g += wd * x;
      double mu = b1 * (1 - 0.5 * std::pow(0.96, t * md)), mu_next = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * md));
      if (t != last_t) mu_product *= mu, last_t = t;
      s[0] = b1 * s[0] + (1 - b1) * g;
      s[1] = b2 * s[1] + (1 - b2) * g * g;
      double denom = std::sqrt(s[1] / (1 - std::pow(b2, t))) + eps;
      x -= lr * (1 - mu) / (1 - mu_product) * g / denom + lr * mu_next / (1 - mu_product * mu_next) * s[0] / denom;
    });
    EXPECT_NEAR(opt.state(p).scalars.at("mu_product"), mu_product, 1e-15);
  }
}

TEST(OptimAdaptive, RAdamFollowsItsDefinition) {
  const double lr = 0.05, b1 = 0.8, b2 = 0.9, eps = 1e-8;
  Tensor p = start();
  optim::RAdam opt({p}, lr, b1, b2, eps);
  bool rectified_seen = false, plain_seen = false;
  expect_matches(opt, p, [&](double& x, double g, int t, std::vector<double>& s) {
    s[0] = b1 * s[0] + (1 - b1) * g;
    s[1] = b2 * s[1] + (1 - b2) * g * g;
    double m_hat = s[0] / (1 - std::pow(b1, t));
    double rho_inf = 2 / (1 - b2) - 1, rho = rho_inf - 2 * t * std::pow(b2, t) / (1 - std::pow(b2, t));
    if (rho > 5) {
      double r = std::sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho));
      x -= lr * m_hat * r * std::sqrt(1 - std::pow(b2, t)) / (std::sqrt(s[1]) + eps);
      rectified_seen = true;
    } else {
      x -= lr * m_hat;
      plain_seen = true;
    }
  });
  EXPECT_TRUE(rectified_seen && plain_seen);
}

TEST(OptimAdaptive, AdamaxFollowsItsDefinition) {
  const double lr = 0.05, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.01;
  Tensor p = start();
  optim::Adamax opt({p}, lr, b1, b2, eps, wd);
  expect_matches(opt, p, [&](double& x, double g, int t, std::vector<double>& s) {
    g += wd * x;
    s[0] = b1 * s[0] + (1 - b1) * g;
    s[1] = std::max(b2 * s[1], std::abs(g) + eps);
    x -= lr / (1 - std::pow(b1, t)) * s[0] / s[1];
  });
}

TEST(OptimAdaptive, AdagradFollowsItsDefinition) {
  const double lr = 0.1, lr_decay = 0.05, initial = 0.3, eps = 1e-6;
  Tensor p = start();
  optim::Adagrad opt({p}, lr, lr_decay, 0.0, initial, eps, /*maximize=*/true);
  expect_matches(opt, p, [&](double& x, double g, int t, std::vector<double>& s) {
    if (t == 1) s[0] = initial;
    g = -g;
    s[0] += g * g;
    x -= lr / (1 + (t - 1) * lr_decay) * g / (std::sqrt(s[0]) + eps);
  });
}

TEST(OptimAdaptive, GroupsDefaultsAndErrors) {
  Tensor a = start(), b = start();
  optim::NAdam nadam({optim::ParamGroup{{a}, {}}, optim::ParamGroup{{b}, {{"momentum_decay", 0.1}}}}, {});
  EXPECT_DOUBLE_EQ(nadam.param_groups()[0].options.at("lr"), 2e-3);
  EXPECT_DOUBLE_EQ(nadam.param_groups()[0].options.at("momentum_decay"), 4e-3);
  EXPECT_DOUBLE_EQ(nadam.param_groups()[1].options.at("momentum_decay"), 0.1);
  optim::Adagrad adagrad({optim::ParamGroup{{a}, {}}}, {});
  EXPECT_DOUBLE_EQ(adagrad.param_groups()[0].options.at("eps"), 1e-10);
  EXPECT_THROW(adagrad.add_param_group(optim::ParamGroup{{start()}, {{"lr_decay", -1.0}}}), ValueError);
  EXPECT_THROW(nadam.add_param_group(optim::ParamGroup{{start()}, {{"momentum_decay", -1.0}}}), ValueError);
  EXPECT_THROW(optim::RAdam({start()}, 0.1, 0.9, 1.0), ValueError);
  EXPECT_THROW(optim::Adamax({start()}, 0.1, -0.1), ValueError);
  EXPECT_THROW(optim::NAdam({start()}, 0.1, 0.9, 0.999, 1e-8, 0.0, -1.0), ValueError);
  EXPECT_THROW(optim::Adagrad({start()}, 0.1, -1.0), ValueError);
  EXPECT_THROW(optim::Adagrad({start()}, 0.1, 0.0, 0.0, -1.0), ValueError);

  // A state buffer that no longer fits its parameter stops the step before anything changes.
  Tensor p = start();
  optim::Adamax opt({p}, 0.1);
  (p * p).sum().backward();
  opt.step();
  opt.state(p).buffers["exp_inf"] = zeros({2}, DType::Float64);
  std::vector<double> before = p.to_vector();
  EXPECT_THROW(opt.step(), RuntimeError);
  EXPECT_EQ(p.to_vector(), before);
}

}  // namespace
}  // namespace backprop
