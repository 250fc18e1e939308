// Layers, state dicts and optimizers of the C++ API.
#include <gtest/gtest.h>

#include <cmath>

#include "backprop/backprop.hpp"

namespace backprop {
namespace {

TEST(Nn, LinearShapesInitAndNames) {
  manual_seed(0);
  auto net = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(8, 2)});
  std::vector<std::string> names;
  for (auto& [name, p] : net->named_parameters()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  Tensor y = (*net)(randn({5, 4}));
  EXPECT_EQ(y.shape(), (Shape{5, 2}));
  nn::Linear first(100, 3);
  for (double w : first.weight.to_vector()) EXPECT_LE(std::abs(w), 0.1);
}

TEST(Nn, StateDictRoundTripAndErrors) {
  manual_seed(1);
  nn::Linear a(3, 2), b(3, 2);
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(a.weight.to_vector(), b.weight.to_vector());
  auto sd = a.state_dict();
  sd.erase("bias");
  try {
    b.load_state_dict(sd);
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("Missing key(s) in state_dict: \"bias\""), std::string::npos);
  }
  sd = a.state_dict();
  sd["weight"] = zeros({2, 2});
  EXPECT_THROW(b.load_state_dict(sd), RuntimeError);
  sd = a.state_dict();
  sd["extra"] = zeros({1});
  EXPECT_THROW(b.load_state_dict(sd), RuntimeError);
  auto result = b.load_state_dict(sd, false);
  EXPECT_EQ(result.unexpected_keys, std::vector<std::string>{"extra"});
  EXPECT_TRUE(result.missing_keys.empty());
}

TEST(Nn, TrainsXor) {
  manual_seed(2);
  nn::Sequential net{std::make_shared<nn::Linear>(2, 8), std::make_shared<nn::Tanh>(),
                     std::make_shared<nn::Linear>(8, 1), std::make_shared<nn::Sigmoid>()};
  Tensor X = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2}), T = tensor({0, 1, 1, 0}, {4, 1});
  optim::Adam opt(net.parameters(), 0.05);
  double loss_value = 0;
  for (int step = 0; step < 500; ++step) {
    opt.zero_grad();
    Tensor loss = mse_loss(net(X), T);
    loss.backward();
    opt.step();
    loss_value = loss.item();
  }
  EXPECT_LT(loss_value, 0.01);
}

TEST(Optim, SgdMomentumMatchesHandComputedSteps) {
  Tensor p = tensor({1.0}, {1}, DType::Float64, true);
  optim::SGD opt({p}, 0.1, 0.9);
  // loss = p^2: grad 2p. Step 1: buf = 2, p = 1 - 0.2 = 0.8. Step 2: buf = 0.9*2 + 1.6 = 3.4, p = 0.8 - 0.34.
  for (int i = 0; i < 2; ++i) {
    opt.zero_grad();
    (p * p).sum().backward();
    opt.step();
  }
  EXPECT_NEAR(p.item(), 0.46, 1e-12);
}

TEST(Optim, AdamFirstStepMovesByLearningRate) {
  Tensor p = tensor({1.0, -2.0}, {2}, DType::Float64, true);
  optim::Adam opt({p}, 0.01);
  (p * p).sum().backward();
  opt.step();
  EXPECT_NEAR(p.to_vector()[0], 0.99, 1e-6);
  EXPECT_NEAR(p.to_vector()[1], -1.99, 1e-6);
  EXPECT_EQ(opt.state(p).step, 1);
  EXPECT_TRUE(opt.state(p).buffers.count("exp_avg"));
}

TEST(Optim, AdamWAndRmspropReduceALoss) {
  for (int which = 0; which < 2; ++which) {
    Tensor p = tensor({3.0, -1.0}, {2}, DType::Float64, true);
    std::unique_ptr<optim::Optimizer> opt;
    if (which == 0)
      opt = std::make_unique<optim::AdamW>(std::vector<Tensor>{p}, 0.1);
    else
      opt = std::make_unique<optim::RMSprop>(std::vector<Tensor>{p}, 0.05);
    for (int i = 0; i < 200; ++i) {
      opt->zero_grad();
      (p * p).sum().backward();
      opt->step();
    }
    EXPECT_LT((p * p).sum().item(), 0.1) << opt->name();
  }
}

TEST(Optim, ClipGradNorm) {
  Tensor p = tensor({3.0, 4.0}, {2}, DType::Float64, true);
  p.set_grad(tensor({3.0, 4.0}, {2}, DType::Float64));
  double norm = optim::clip_grad_norm_({p}, 1.0);
  EXPECT_DOUBLE_EQ(norm, 5.0);
  EXPECT_NEAR(p.grad().to_vector()[0], 0.6, 1e-6);
  optim::clip_grad_value_({p}, 0.5);
  EXPECT_NEAR(p.grad().to_vector()[1], 0.5, 1e-12);
}

TEST(Optim, RejectsBadParameters) {
  EXPECT_THROW(optim::SGD(std::vector<Tensor>{}, 0.1), ValueError);
  EXPECT_THROW(optim::SGD({zeros({2}, DType::Int64)}, 0.1), TypeError);
  EXPECT_THROW(optim::Adam({zeros({2}, DType::Float32, true)}, 0.1, 1.5), ValueError);
}

}  // namespace
}  // namespace backprop

namespace backprop {
namespace {

TEST(Optim, GroupsTakeDefaultsForWhatTheyDoNotName) {
  Tensor a = tensor({1.0}, {1}, DType::Float64, true), b = tensor({1.0}, {1}, DType::Float64, true);
  optim::SGD sgd({optim::ParamGroup{{a}, {}}, optim::ParamGroup{{b}, {{"lr", 0.1}}}}, {{"lr", 0.5}});
  (a + b).sum().backward();
  sgd.step();
  EXPECT_DOUBLE_EQ(a.item(), 0.5);
  EXPECT_DOUBLE_EQ(b.item(), 0.9);
  optim::Adam adam({optim::ParamGroup{{a}, {}}}, {});
  EXPECT_DOUBLE_EQ(adam.param_groups()[0].options.at("lr"), 1e-3);
  optim::AdamW adamw({optim::ParamGroup{{b}, {}}}, {});
  EXPECT_DOUBLE_EQ(adamw.param_groups()[0].options.at("weight_decay"), 1e-2);
}

}  // namespace
}  // namespace backprop
