// The activations and losses added for PyTorch parity, from C++: gradients against central
// differences, in-place semantics and the C++ layers.
#include "gradcheck.hpp"

namespace backprop {
namespace {

using testing::expect_gradients;
using testing::leaf;
using V = std::vector<Tensor>;

class NnMore : public ::testing::Test {
 protected:
  void SetUp() override { manual_seed(11); }
};

// Values kept away from the kinks at 0, +-1 and +-3.
Tensor spread() {
  return tensor({-4.2, -2.5, -0.7, -0.2, 0.3, 0.8, 1.6, 2.2, 3.5, 5.1}, {2, 5}, DType::Float64, true);
}

TEST_F(NnMore, ActivationGradients) {
  expect_gradients([](const V& v) { return hardtanh(v[0], -0.5, 2.0); }, {spread()});
  expect_gradients([](const V& v) { return relu6(v[0]); }, {spread()});
  expect_gradients([](const V& v) { return elu(v[0], 0.7); }, {spread()});
  expect_gradients([](const V& v) { return selu(v[0]); }, {spread()});
  expect_gradients([](const V& v) { return celu(v[0], 1.5); }, {spread()});
  expect_gradients([](const V& v) { return silu(v[0]); }, {spread()});
  expect_gradients([](const V& v) { return mish(v[0]); }, {spread()});
  expect_gradients([](const V& v) { return hardswish(v[0]); }, {spread()});
  expect_gradients([](const V& v) { return hardsigmoid(v[0]); }, {spread()});
  expect_gradients([](const V& v) { return softsign(v[0]); }, {spread()});
  expect_gradients([](const V& v) { return tanhshrink(v[0]); }, {spread()});
  expect_gradients([](const V& v) { return logsigmoid(v[0]); }, {spread()});
  expect_gradients([](const V& v) { return glu(v[0], 0); }, {leaf({4, 3})});
  expect_gradients([](const V& v) { return prelu(v[0], v[1]); }, {spread(), leaf({1}, 0.1, 0.5)});
}

TEST_F(NnMore, LossGradients) {
  expect_gradients([](const V& v) { return binary_cross_entropy(v[0], v[1], Tensor(), "sum"); },
                   {leaf({3, 4}, 0.05, 0.95), leaf({3, 4}, 0.0, 1.0)});
  expect_gradients([](const V& v) { return smooth_l1_loss(v[0], v[1], "none", 0.5); }, {leaf({3, 4}), leaf({4})});
  expect_gradients([](const V& v) { return huber_loss(v[0], v[1], "mean", 0.4); }, {leaf({3, 4}), leaf({3, 4})});
  expect_gradients([](const V& v) { return kl_div(v[0], v[1], "batchmean"); }, {leaf({3, 4}), leaf({3, 4}, 0.1, 1.0)});
  expect_gradients([](const V& v) { return gaussian_nll_loss(v[0], v[1], v[2], true); },
                   {leaf({3, 4}), leaf({3, 4}), leaf({3}, 0.5, 2.0)});
}

TEST_F(NnMore, BinaryCrossEntropyClampsAtMinus100) {
  Tensor x = tensor({0.0, 1.0, 0.0, 1.0}, {4}, DType::Float64);
  Tensor t = tensor({0.0, 0.0, 1.0, 1.0}, {4}, DType::Float64);
  std::vector<double> loss = binary_cross_entropy(x, t, Tensor(), "none").to_vector();
  EXPECT_EQ(loss, (std::vector<double>{0.0, 100.0, 100.0, 0.0}));
  EXPECT_THROW(binary_cross_entropy(tensor({1.5}, {1}), tensor({1.0}, {1})), RuntimeError);
}

TEST_F(NnMore, InplaceActivation) {
  Tensor x = tensor({-1.0, 0.5, 7.0}, {3});
  uint64_t v = x.version();
  Tensor& y = relu6_(x);
  EXPECT_EQ(&y, &x);
  EXPECT_GT(x.version(), v);
  EXPECT_EQ(x.to_vector(), (std::vector<double>{0.0, 0.5, 6.0}));
  Tensor w = tensor({1.0, -2.0}, {2}, DType::Float64, true);
  EXPECT_THROW(elu_(w, 1.0), RuntimeError);  // a leaf that requires grad
  Tensor h = w * 2.0;
  Tensor saved_by_mul = (h * h).sum();
  elu_(h, 1.0);
  EXPECT_THROW(saved_by_mul.backward(), RuntimeError);  // h changed after mul saved it
  Tensor h2 = w * 2.0;
  elu_(h2, 1.0).sum().backward();
  std::vector<double> g = w.grad().to_vector();
  EXPECT_DOUBLE_EQ(g[0], 2.0);
  EXPECT_NEAR(g[1], 2.0 * std::exp(-4.0), 1e-15);
}

TEST_F(NnMore, Layers) {
  nn::PReLU prelu_layer(3, 0.1, DType::Float64);
  ASSERT_EQ(prelu_layer.named_parameters().size(), 1u);
  EXPECT_EQ(prelu_layer.named_parameters()[0].first, "weight");
  Tensor x = tensor({-1.0, 2.0, -3.0, 4.0, -5.0, 6.0}, {2, 3}, DType::Float64);
  EXPECT_EQ(prelu_layer(x).to_vector(), (std::vector<double>{-0.1, 2.0, -0.30000000000000004, 4.0, -0.5, 6.0}));
  nn::Sequential net{std::make_shared<nn::Linear>(3, 4, true, DType::Float64), std::make_shared<nn::SiLU>(),
                     std::make_shared<nn::GLU>(), std::make_shared<nn::ReLU6>(true)};
  EXPECT_EQ(net(x).shape(), (Shape{2, 2}));
  EXPECT_THROW(nn::Hardtanh(1.0, 1.0), ValueError);
  nn::ELU elu_layer(1.0, true);
  Tensor z = tensor({-1.0, 1.0}, {2});
  Tensor out = elu_layer(z);
  EXPECT_EQ(out.data_ptr(), z.data_ptr());
}

}  // namespace
}  // namespace backprop
