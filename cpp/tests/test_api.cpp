// The C++ API as the embedding issue spells it out, and typed exceptions with Python's messages.
#include <gtest/gtest.h>

#include <algorithm>

#include "backprop/backprop.hpp"

using namespace backprop;

TEST(Api, TheDocumentedProgramBehaves) {
  Tensor x = tensor({1.0}, {1}, DType::Float64, true);
  Tensor y = x * x + 3.0 * x;
  y.sum().backward();
  double g = x.grad().item();
  EXPECT_DOUBLE_EQ(g, 5.0);
  manual_seed(3);
  Tensor W = randn({2, 8}, DType::Float32, true), b = zeros({8}, DType::Float32, true);
  Tensor X = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2}), T = tensor({0, 1, 1, 0}, {4, 1});
  Tensor h = tanh(matmul(X, W) + b);
  optim::Adam opt({W, b}, 0.05);
  std::vector<double> before = W.to_vector();
  opt.zero_grad();
  mse_loss(sigmoid(h.sum(1, true)), T).backward();
  opt.step();
  std::vector<double> w = W.to_vector();
  ASSERT_EQ(w.size(), 16u);
  EXPECT_NE(w, before);
  optim::SGD sgd({W, b}, 0.1, 0.9);
  sgd.zero_grad();
  h = tanh(matmul(X, W) + b);  // the first graph was freed by its backward
  (relu(h) + exp(h) + log(sigmoid(h)) + pow(h, 2.0)).mean().backward();
  sgd.step();
}

TEST(Api, TypedExceptionsCarryThePythonMessages) {
  try {
    add(ones({2, 3}), ones({4}));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[4]"), std::string::npos);
  }
  try {
    matmul(ones({2, 3}), ones({4, 5}));
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[4, 5]"), std::string::npos);
  }
  try {
    add(ones({2}), ones({2}, DType::Float64));
    FAIL();
  } catch (const TypeError& e) {
    EXPECT_NE(std::string(e.what()).find("float32"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("float64"), std::string::npos);
  }
  EXPECT_THROW(zeros({2}, DType::Int64, true), TypeError);
  EXPECT_THROW(cross_entropy(ones({2, 3}), tensor({0, 3}, {2}, DType::Int64)), IndexError);
  EXPECT_THROW(select(ones({2}), 0, 5), IndexError);
}

TEST(Api, CreationFactoriesAndSeeding) {
  EXPECT_EQ(linspace(0, 1, 5).to_vector(), (std::vector<double>{0, 0.25, 0.5, 0.75, 1}));
  EXPECT_EQ(linspace(0, 10, 4, DType::Int64).to_int_vector(), (std::vector<int64_t>{0, 3, 6, 10}));
  EXPECT_EQ(logspace(0, 2, 3, 10.0, DType::Float64).to_vector(), (std::vector<double>{1, 10, 100}));
  EXPECT_EQ(eye(2, 3).to_vector(), (std::vector<double>{1, 0, 0, 0, 1, 0}));
  EXPECT_EQ(eye(2).shape(), (Shape{2, 2}));
  EXPECT_THROW(linspace(0, 1, -1), ValueError);
  EXPECT_THROW(eye(-1), ValueError);
  std::vector<int64_t> p = randperm(30).to_int_vector();
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 30; ++i) EXPECT_EQ(sorted[i], i);
  manual_seed(11);
  EXPECT_EQ(initial_seed(), 11u);
  std::vector<double> a = rand({4}).to_vector();
  manual_seed(11);
  EXPECT_EQ(rand({4}).to_vector(), a);
  uint64_t s = seed();
  EXPECT_EQ(initial_seed(), s);
}
