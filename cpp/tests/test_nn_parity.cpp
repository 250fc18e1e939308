// The C++ nn front end follows the rules of Python's backprop.nn (and so of PyTorch): key order,
// load errors, children, indexing and the fused Linear+activation path. tests/test_nn_parity.py
// checks the two front ends against each other on the same files.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "backprop/backprop.hpp"

namespace backprop {
namespace {

std::vector<std::string> keys_of(const nn::StateDict& sd) { return sd.keys(); }

nn::Sequential make_net() {
  // Eleven layers, so that the keys "10.weight" and "2.weight" show registration order against sorted order.
  nn::Sequential net;
  for (int i = 0; i < 5; ++i) {
    net.push_back(std::make_shared<nn::Linear>(3, 3, true, DType::Float64));
    net.push_back(std::make_shared<nn::Tanh>());
  }
  net.push_back(std::make_shared<nn::Linear>(3, 2, true, DType::Float64));
  return net;
}

TEST(NnParity, StateDictKeysFollowRegistrationOrder) {
  nn::Sequential net = make_net();
  std::vector<std::string> expected;
  for (int i = 0; i <= 10; i += 2) {
    expected.push_back(std::to_string(i) + ".weight");
    expected.push_back(std::to_string(i) + ".bias");
  }
  EXPECT_EQ(keys_of(net.state_dict()), expected);
  // A map (what backprop::load returns) still loads, and a state dict still saves as one.
  std::map<std::string, Tensor> as_map = net.state_dict();
  EXPECT_EQ(as_map.size(), expected.size());
  nn::Sequential other = make_net();
  EXPECT_TRUE(other.load_state_dict(as_map).missing_keys.empty());
  EXPECT_EQ(other[10]->parameters()[0].to_vector(), net[10]->parameters()[0].to_vector());
}

TEST(NnParity, LoadErrorsAreRuntimeErrorsWithPyTorchsMessage) {
  nn::Sequential net{std::make_shared<nn::Linear>(3, 2), std::make_shared<nn::ReLU>(),
                     std::make_shared<nn::Linear>(2, 1)};
  nn::StateDict sd = net.state_dict();
  sd.erase("0.bias");
  sd["9.weight"] = zeros({1});
  sd["0.foo"] = zeros({1});
  sd["2.weight"] = zeros({3, 3});
  sd["2.bias"] = zeros({4});
  Tensor before = net.at<nn::Linear>(2).weight.clone();
  try {
    net.load_state_dict(sd);
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()),
              "Error(s) in loading state_dict for Sequential:"
              "\n\tMissing key(s) in state_dict: \"0.bias\"."
              "\n\tUnexpected key(s) in state_dict: \"9.weight\", \"0.foo\"."
              "\n\tsize mismatch for 2.weight: copying a param with shape (3, 3) from checkpoint, "
              "the shape in current model is (1, 2)."
              "\n\tsize mismatch for 2.bias: copying a param with shape (4,) from checkpoint, "
              "the shape in current model is (1,).");
  }
  EXPECT_EQ(net.at<nn::Linear>(2).weight.to_vector(), before.to_vector());  // a refused load copies nothing
  // Size mismatches raise even when not strict, as in PyTorch; missing and unexpected keys do not.
  EXPECT_THROW(net.load_state_dict(sd, false), RuntimeError);
  sd["2.weight"] = zeros({1, 2});
  sd["2.bias"] = zeros({1});
  auto result = net.load_state_dict(sd, false);
  EXPECT_EQ(result.missing_keys, std::vector<std::string>{"0.bias"});
  EXPECT_EQ(result.unexpected_keys, (std::vector<std::string>{"9.weight", "0.foo"}));
  EXPECT_EQ(net.at<nn::Linear>(2).weight.to_vector(), (std::vector<double>{0.0, 0.0}));
}

TEST(NnParity, NamedChildrenAndIndexing) {
  auto shared = std::make_shared<nn::Linear>(2, 2);
  nn::Sequential net{shared, std::make_shared<nn::Sigmoid>(), shared};
  auto children = net.named_children();
  ASSERT_EQ(children.size(), 2u);  // a module registered twice is one child, as in PyTorch
  EXPECT_EQ(children[0].first, "0");
  EXPECT_EQ(children[1].first, "1");
  EXPECT_EQ(children[1].second->name(), "Sigmoid");
  EXPECT_EQ(net.parameters().size(), 2u);  // the shared weight and bias once: an optimizer steps them once
  EXPECT_EQ(net[0], shared);
  EXPECT_EQ(net[-1], shared);
  EXPECT_EQ(net[-2]->name(), "Sigmoid");
  EXPECT_THROW(net[3], IndexError);
  EXPECT_THROW(net[-4], IndexError);
  EXPECT_THROW(net.at<nn::Linear>(1), TypeError);
  EXPECT_EQ(&net.at<nn::Linear>(2), shared.get());
  EXPECT_EQ(net.name(), "Sequential");
}

class ScaledReLU : public nn::ReLU {
 public:
  Tensor forward(const Tensor& x) override { return relu(x) * 2.0; }
};

TEST(NnParity, SequentialFusesLinearActivationWithTheSameValues) {
  manual_seed(3);
  for (std::string act : {"relu", "tanh", "sigmoid"}) {
    std::shared_ptr<nn::Module> layer;
    if (act == "relu") layer = std::make_shared<nn::ReLU>();
    if (act == "tanh") layer = std::make_shared<nn::Tanh>();
    if (act == "sigmoid") layer = std::make_shared<nn::Sigmoid>();
    auto lin = std::make_shared<nn::Linear>(4, 3, true, DType::Float64);
    nn::Sequential net{lin, layer};
    Tensor x = randn({5, 4}, DType::Float64);
    Tensor y = net(x);
    Tensor unfused = layer->forward(linear(x, lin->weight, lin->bias));
    EXPECT_EQ(y.to_vector(), unfused.to_vector()) << act;
    // The fused op is one graph node; the unfused pair would be two.
    ASSERT_TRUE(y.grad_fn());
    EXPECT_EQ(y.grad_fn()->name(), linear_activation(x, lin->weight, lin->bias, act).grad_fn()->name()) << act;
    EXPECT_NE(y.grad_fn()->name(), unfused.grad_fn()->name()) << act;
  }
  // A subclass of an activation may change forward: it runs as itself, never fused away.
  auto lin = std::make_shared<nn::Linear>(4, 3, false, DType::Float64);
  nn::Sequential net{lin, std::make_shared<ScaledReLU>()};
  Tensor x = randn({2, 4}, DType::Float64);
  EXPECT_EQ(net(x).to_vector(), (relu(linear(x, lin->weight)) * 2.0).to_vector());
}

}  // namespace
}  // namespace backprop
