// The backward engine: deep graphs, accumulation, retain_graph, freed graphs, grad(), hooks,
// grad mode, version checks.
#include <gtest/gtest.h>

#include <cmath>
#include <thread>

#include "backprop/backprop.hpp"

namespace backprop {
namespace {

TEST(Engine, SeedExample) {
  Tensor x = tensor({1.0}, {1}, DType::Float64, true);
  Tensor y = x * x + 3.0 * x;
  y.sum().backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 5.0);
}

TEST(Engine, MillionOpChainRunsBackwardAndIsFreedWithoutRecursion) {
  Tensor x = tensor({0.5}, {1}, DType::Float64, true);
  Tensor y = x;
  for (int i = 0; i < 1000000; ++i) y = y * 1.0000001;
  y.sum().backward();
  EXPECT_NEAR(x.grad().item(), std::pow(1.0000001, 1000000), 1e-6);
  y = Tensor();  // dropping the graph must not recurse a million frames deep
}

TEST(Engine, GradientsAccumulateAcrossCalls) {
  Tensor x = tensor({2.0, 3.0}, {2}, DType::Float64, true);
  (x * x).sum().backward();
  (x * 4.0).sum().backward();
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{8.0, 10.0}));
}

TEST(Engine, RetainGraphAndFreedGraphError) {
  Tensor x = tensor({2.0}, {1}, DType::Float64, true);
  Tensor y = (x * x).sum();
  y.backward(Tensor(), true);
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 8.0);
  try {
    y.backward();
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("retain_graph=True"), std::string::npos);
  }
}

TEST(Engine, NonScalarNeedsGradient) {
  Tensor x = ones({3}, DType::Float64, true);
  try {
    (x * 2.0).backward();
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find(".sum()"), std::string::npos);
  }
  (x * 2.0).backward(ones({3}, DType::Float64));
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2, 2, 2}));
}

TEST(Engine, GradReturnsWithoutTouchingLeaves) {
  Tensor a = tensor({1.0, 2.0}, {2}, DType::Float64, true);
  Tensor b = tensor({3.0}, {1}, DType::Float64, true);
  Tensor unused = tensor({1.0}, {1}, DType::Float64, true);
  Tensor out = (a * b).sum();
  auto grads = grad({out}, {a, b}, {}, true);
  EXPECT_EQ(grads[0].to_vector(), (std::vector<double>{3, 3}));
  EXPECT_EQ(grads[1].to_vector(), (std::vector<double>{3}));
  EXPECT_FALSE(a.grad().defined());
  EXPECT_THROW(grad({out}, {unused}, {}, true), RuntimeError);
  auto maybe = grad({out}, {unused}, {}, true, true);
  EXPECT_FALSE(maybe[0].defined());
}

TEST(Engine, HooksAndRetainGrad) {
  Tensor x = tensor({1.0, 2.0}, {2}, DType::Float64, true);
  Tensor h = x * 3.0;
  h.retain_grad();
  h.register_hook([](const Tensor& g) { return g * 10.0; });
  x.register_hook([](const Tensor& g) { return g + 1.0; });
  (h * h).sum().backward();
  // d/dh = 2h = [6, 12], scaled by the hook: [60, 120]; dx = 3 * that, plus one from x's hook.
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{181, 361}));
}

TEST(Engine, NoGradGuardRecordsNothing) {
  Tensor x = ones({2}, DType::Float32, true);
  {
    NoGradGuard guard;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_FALSE(is_grad_enabled());
    {
      EnableGradGuard enable;
      EXPECT_TRUE((x * 2.0).requires_grad());
    }
  }
  EXPECT_TRUE(is_grad_enabled());
  // Grad mode is per thread.
  bool other_thread_enabled = false;
  NoGradGuard guard;
  std::thread([&] { other_thread_enabled = is_grad_enabled(); }).join();
  EXPECT_TRUE(other_thread_enabled);
}

TEST(Engine, InPlaceChangeOfSavedTensorIsDetected) {
  Tensor x = tensor({1.0, 2.0}, {2}, DType::Float64, true);
  Tensor y = x * 2.0;
  Tensor z = y.exp();  // saves its output
  z.add_(1.0);
  try {
    z.sum().backward();
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("version"), std::string::npos);
  }
}

TEST(Engine, InPlaceOnLeafThatRequiresGradThrows) {
  Tensor x = ones({2}, DType::Float32, true);
  EXPECT_THROW(x.add_(1.0), RuntimeError);
  NoGradGuard guard;
  x.add_(1.0);
  EXPECT_EQ(x.to_vector(), (std::vector<double>{2, 2}));
}

TEST(Engine, SavedTensorsAreFreedAfterBackward) {
  int64_t before = memory_stats().bytes_in_use;
  {
    Tensor x = randn({256, 256}, DType::Float32, true);
    Tensor loss = tanh(matmul(x, x)).sum();
    loss.backward();
    x.set_grad(Tensor());
  }
  EXPECT_EQ(memory_stats().bytes_in_use, before);
}

// A node with several outputs: gradients reaching one output from several paths are summed in
// that output's buffer, the node runs once, and hooks and grad() see one output's gradient.
TEST(Engine, SeveralOutputsBufferPerSlotAndRunOnce) {
  Tensor x = tensor({1.0, 2.0, 3.0}, {3}, DType::Float64, true);
  std::vector<Tensor> p = unbind(x, 0);
  std::vector<double> seen;
  p[1].register_hook([&seen](const Tensor& g) {
    seen.push_back(g.item());
    return Tensor();
  });
  p[2].register_hook([](const Tensor& g) { return g * 10.0; });
  Tensor y = p[1] * 2.0 + p[1] * 3.0 + p[2] + p[0] * p[0];
  y.backward(Tensor(), true);
  ASSERT_EQ(seen.size(), 1u);  // one call: both paths into output 1 were summed first
  EXPECT_DOUBLE_EQ(seen[0], 5.0);
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{2.0, 5.0, 10.0}));
  std::vector<Tensor> g = grad({y}, {p[1], p[0]});
  EXPECT_DOUBLE_EQ(g[0].item(), 5.0);
  EXPECT_DOUBLE_EQ(g[1].item(), 2.0);
}

TEST(Engine, UnusedOutputsGetNoGradientAndBackwardOfTwoPiecesAtOnce) {
  Tensor x = tensor({1.0, 2.0, 3.0, 4.0}, {4}, DType::Float64, true);
  std::vector<Tensor> p = split(x, 2, 0);
  backward({p[0].sum(), p[1]}, {Tensor(), tensor({1.0, -1.0}, {2}, DType::Float64)});
  EXPECT_EQ(x.grad().to_vector(), (std::vector<double>{1.0, 1.0, 1.0, -1.0}));
  Tensor z = tensor({1.0, 2.0, 3.0, 4.0}, {4}, DType::Float64, true);
  (chunk(z, 4, 0)[3] * 7.0).sum().backward();
  EXPECT_EQ(z.grad().to_vector(), (std::vector<double>{0.0, 0.0, 0.0, 7.0}));
}

}  // namespace
}  // namespace backprop
