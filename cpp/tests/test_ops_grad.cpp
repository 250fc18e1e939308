// Every differentiable op of ops.hpp against central differences in double precision.
#include "gradcheck.hpp"

namespace backprop {
namespace {

using testing::expect_gradients;
using testing::leaf;
using V = std::vector<Tensor>;

class OpsGrad : public ::testing::Test {
 protected:
  void SetUp() override { manual_seed(7); }
};

TEST_F(OpsGrad, ArithmeticWithBroadcasting) {
  expect_gradients([](const V& v) { return add(v[0], v[1]); }, {leaf({3, 4}), leaf({4})});
  expect_gradients([](const V& v) { return sub(v[0], v[1]); }, {leaf({2, 1, 3}), leaf({4, 1})});
  expect_gradients([](const V& v) { return mul(v[0], v[1]); }, {leaf({3, 4}), leaf({3, 1})});
  expect_gradients([](const V& v) { return div(v[0], v[1]); }, {leaf({3, 4}), leaf({4}, 0.5, 2.0)});
  expect_gradients([](const V& v) { return pow(v[0], v[1]); }, {leaf({3, 4}, 0.5, 2.0), leaf({4})});
  expect_gradients([](const V& v) { return pow(v[0], 3.0); }, {leaf({5})});
  expect_gradients([](const V& v) { return pow(2.0, v[0]); }, {leaf({5})});
  expect_gradients([](const V& v) { return neg(v[0]); }, {leaf({2, 3})});
  expect_gradients([](const V& v) { return 1.0 - v[0] * 3.0 + 2.0 / (v[0] + 4.0); }, {leaf({2, 3})});
}

TEST_F(OpsGrad, MaximumMinimumWhere) {
  expect_gradients([](const V& v) { return maximum(v[0], v[1]); }, {leaf({3, 4}), leaf({4})});
  expect_gradients([](const V& v) { return minimum(v[0], v[1]); }, {leaf({3, 4}), leaf({3, 1})});
  Tensor cond = gt(rand({3, 4}, DType::Float64), scalar_tensor(0.5, DType::Float64));
  expect_gradients([cond](const V& v) { return where(cond, v[0], v[1]); }, {leaf({3, 4}), leaf({4})});
}

TEST_F(OpsGrad, UnaryMath) {
  expect_gradients([](const V& v) { return exp(v[0]); }, {leaf({2, 3})});
  expect_gradients([](const V& v) { return log(v[0]); }, {leaf({2, 3}, 0.5, 2.0)});
  expect_gradients([](const V& v) { return sqrt(v[0]); }, {leaf({2, 3}, 0.5, 2.0)});
  Tensor mixed = tensor({-0.5, 0.3, -0.8, 0.9, 0.2, -0.4}, {2, 3}, DType::Float64, true);
  expect_gradients([](const V& v) { return abs(v[0]); }, {mixed});
  expect_gradients([](const V& v) { return sin(v[0]) + cos(v[0]); }, {leaf({4})});
  Tensor spread = tensor({-0.9, -0.3, 0.1, 0.45, 0.8}, {5}, DType::Float64, true);
  expect_gradients([](const V& v) { return clamp(v[0], -0.5, 0.5); }, {spread});
  expect_gradients([](const V& v) { return clamp(v[0], std::nullopt, 0.2); }, {spread});
}

TEST_F(OpsGrad, Activations) {
  expect_gradients([](const V& v) { return relu(v[0]); }, {leaf({3, 4}, 0.1, 1.0)});
  expect_gradients([](const V& v) { return leaky_relu(v[0], 0.2); }, {leaf({3, 4}, -1.0, -0.1)});
  expect_gradients([](const V& v) { return sigmoid(v[0]); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return tanh(v[0]); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return gelu(v[0]); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return gelu(v[0], "tanh"); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return softplus(v[0], 2.0, 5.0); }, {leaf({3, 4}, -3.0, 3.0)});
}

TEST_F(OpsGrad, LinearAlgebra) {
  expect_gradients([](const V& v) { return matmul(v[0], v[1]); }, {leaf({3, 4}), leaf({4, 2})});
  expect_gradients([](const V& v) { return matmul(v[0], v[1]); }, {leaf({4}), leaf({4})});
  expect_gradients([](const V& v) { return matmul(v[0], v[1]); }, {leaf({4}), leaf({4, 3})});
  expect_gradients([](const V& v) { return matmul(v[0], v[1]); }, {leaf({3, 4}), leaf({4})});
  expect_gradients([](const V& v) { return matmul(v[0], v[1]); }, {leaf({2, 1, 3, 4}), leaf({5, 4, 2})});
  expect_gradients([](const V& v) { return matmul(v[0], v[1].t()); }, {leaf({3, 4}), leaf({2, 4})});
  expect_gradients([](const V& v) { return linear(v[0], v[1], v[2]); }, {leaf({2, 3, 4}), leaf({5, 4}), leaf({5})});
  expect_gradients([](const V& v) { return linear_activation(v[0], v[1], v[2], "tanh"); },
                   {leaf({3, 4}), leaf({5, 4}), leaf({5})});
}

TEST_F(OpsGrad, Reductions) {
  expect_gradients([](const V& v) { return sum(v[0]); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return sum(v[0], {0, 2}, true); }, {leaf({2, 3, 4})});
  expect_gradients([](const V& v) { return mean(v[0], {1}); }, {leaf({2, 3, 4})});
  expect_gradients([](const V& v) { return max(v[0]); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return min(v[0]); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return max(v[0], 1, false).first; }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return min(v[0], 0, true).first; }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return amax(v[0], {0, 1}); }, {leaf({3, 4, 2})});
  expect_gradients([](const V& v) { return logsumexp(v[0], {1}); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return var(v[0], {1}, 1.0, true); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return sum_to(v[0], {1, 4}); }, {leaf({3, 4})});
  Tensor x = tensor({1, 5, 3, 9, 2, 0}, {2, 3});
  EXPECT_EQ(argmax(x).item(), 3);
  EXPECT_EQ(argmin(x, 1).to_int_vector(), (std::vector<int64_t>{0, 2}));
}

TEST_F(OpsGrad, ShapeAndViews) {
  expect_gradients([](const V& v) { return reshape(v[0], {4, 3}); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return view(v[0], {2, -1}); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return flatten(v[0], 1); }, {leaf({2, 3, 4})});
  expect_gradients([](const V& v) { return transpose(v[0], 0, 2); }, {leaf({2, 3, 4})});
  expect_gradients([](const V& v) { return permute(v[0], {1, 2, 0}); }, {leaf({2, 3, 4})});
  expect_gradients([](const V& v) { return squeeze(v[0]); }, {leaf({2, 1, 3})});
  expect_gradients([](const V& v) { return squeeze(v[0], 1); }, {leaf({2, 1, 3})});
  expect_gradients([](const V& v) { return unsqueeze(v[0], -1); }, {leaf({2, 3})});
  expect_gradients([](const V& v) { return expand(v[0], {4, 2, 3}); }, {leaf({2, 1})});
  expect_gradients([](const V& v) { return slice(v[0], 1, 1, 4, 2); }, {leaf({3, 5})});
  expect_gradients([](const V& v) { return select(v[0], 0, -1); }, {leaf({3, 5})});
  expect_gradients([](const V& v) { return narrow(v[0], 1, 2, 2); }, {leaf({3, 5})});
  expect_gradients([](const V& v) { return cat({v[0], v[1]}, 1); }, {leaf({2, 3}), leaf({2, 2})});
  expect_gradients([](const V& v) { return stack({v[0], v[1]}, 0); }, {leaf({2, 3}), leaf({2, 3})});
}

TEST_F(OpsGrad, Indexing) {
  Tensor idx = tensor({2, 0, 2}, {3}, DType::Int64);
  expect_gradients([idx](const V& v) { return index_select(v[0], 0, idx); }, {leaf({3, 4})});
  Tensor g = tensor({0, 1, 1, 0, 2, 2}, {3, 2}, DType::Int64);
  expect_gradients([g](const V& v) { return gather(v[0], 1, g); }, {leaf({3, 4})});
  Tensor rows = tensor({0, 2}, {2}, DType::Int64);
  expect_gradients([rows](const V& v) { return index_put(v[0], {rows}, v[1]); }, {leaf({3, 4}), leaf({2, 4})});
  expect_gradients([rows](const V& v) { return index_put(v[0], {rows}, v[1], true); }, {leaf({3, 4}), leaf({4})});
  Tensor nz = nonzero(tensor({0, 1, 0, 1}, {2, 2}));
  EXPECT_EQ(nz.shape(), (Shape{2, 2}));
  EXPECT_EQ(nz.to_int_vector(), (std::vector<int64_t>{0, 1, 1, 1}));
}

TEST_F(OpsGrad, SoftmaxAndLosses) {
  expect_gradients([](const V& v) { return softmax(v[0], 1); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return log_softmax(v[0], 0); }, {leaf({3, 4})});
  Tensor labels = tensor({0, 3, 1}, {3}, DType::Int64);
  Tensor weight = tensor({1.0, 2.0, 0.5, 1.5}, {4}, DType::Float64);
  expect_gradients([labels](const V& v) { return cross_entropy(v[0], labels); }, {leaf({3, 4})});
  expect_gradients([labels, weight](const V& v) { return cross_entropy(v[0], labels, "sum", 0.1, -100, weight); },
                   {leaf({3, 4})});
  expect_gradients([labels](const V& v) { return cross_entropy(v[0], labels, "none", 0.0, 3); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return cross_entropy(v[0], softmax(v[1], 1)); }, {leaf({3, 4}), leaf({3, 4})});
  expect_gradients([labels](const V& v) { return nll_loss(log_softmax(v[0], 1), labels); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return mse_loss(v[0], v[1], "sum"); }, {leaf({3, 4}), leaf({3, 4})});
  Tensor pos = tensor({2.0, 1.0, 0.5, 3.0}, {4}, DType::Float64);
  expect_gradients([pos](const V& v) { return binary_cross_entropy_with_logits(v[0], v[1], "mean", Tensor(), pos); },
                   {leaf({3, 4}), leaf({3, 4}, 0.0, 1.0)});
}

TEST_F(OpsGrad, NormalisationAndDropout) {
  expect_gradients([](const V& v) { return layer_norm(v[0], {4}, v[1], v[2]); }, {leaf({3, 4}), leaf({4}), leaf({4})});
  Tensor x = leaf({1000});
  Tensor y = dropout(x, 0.25, true);
  y.sum().backward();
  std::vector<double> out = y.to_vector(), grad = x.grad().to_vector(), in = x.to_vector();
  int kept = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] != 0) {
      ++kept;
      EXPECT_NEAR(out[i], in[i] / 0.75, 1e-12);
      EXPECT_NEAR(grad[i], 1 / 0.75, 1e-12);
    } else {
      EXPECT_EQ(grad[i], 0.0);
    }
  }
  EXPECT_GT(kept, 650);
  EXPECT_LT(kept, 850);
  EXPECT_EQ(dropout(x, 0.5, false).impl(), x.impl());
}

TEST_F(OpsGrad, ComparisonsCarryNoGradient) {
  Tensor a = leaf({4});
  Tensor b = scalar_tensor(0.0, DType::Float64);
  for (const Tensor& c : {lt(a, b), le(a, b), gt(a, b), ge(a, b), eq(a, b), ne(a, b)}) {
    EXPECT_EQ(c.dtype(), DType::Bool);
    EXPECT_FALSE(c.requires_grad());
  }
  Tensor m = logical_and(gt(a, b), logical_not(lt(a, b)));
  EXPECT_EQ(m.to_vector(), gt(a, b).to_vector());
  EXPECT_EQ(logical_or(gt(a, b), le(a, b)).sum().item(), 4);
}

}  // namespace
}  // namespace backprop
