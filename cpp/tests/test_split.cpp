// unbind, split and chunk: one graph node with several outputs, gradients against central
// differences (pieces used, unused, reordered), PyTorch's piece counts, and backward cost linear
// in the number of pieces.
#include <string>

#include "gradcheck.hpp"

namespace backprop {
namespace {

using testing::expect_gradients;
using testing::leaf;
using V = std::vector<Tensor>;

class Split : public ::testing::Test {
 protected:
  void SetUp() override { manual_seed(11); }
};

TEST_F(Split, UnbindGradients) {
  // Pieces reordered and weighted differently, so a gradient sent to the wrong slot shows.
  expect_gradients([](const V& v) {
    V p = unbind(v[0], 1);
    return stack({p[2] * 3.0, p[0], p[1] * p[1]}, 0);
  }, {leaf({2, 3, 4})});
  expect_gradients([](const V& v) { return unbind(v[0], -1)[1] * 2.0; }, {leaf({3, 2})});  // one piece used
  expect_gradients([](const V& v) {
    V p = unbind(v[0], 0);
    return p[0] + p[3];
  }, {leaf({4})});
}

TEST_F(Split, SplitAndChunkGradients) {
  expect_gradients([](const V& v) {
    V p = split(v[0], 2, 1);  // sizes 2, 2, 1
    return cat({p[2], p[0] * 2.0, p[1].exp()}, 1);
  }, {leaf({3, 5})});
  expect_gradients([](const V& v) {
    V p = split(v[0], std::vector<int64_t>{1, 3, 2}, 0);
    return cat({p[1], p[2] * p[2]}, 0);  // the first piece gets no gradient
  }, {leaf({6, 2})});
  expect_gradients([](const V& v) {
    V p = chunk(v[0], 3, -1);
    return p[0] * p[2];
  }, {leaf({2, 6})});
}

TEST_F(Split, OneNodeForAllPiecesEachItsOwnSlot) {
  Tensor x = leaf({4, 3});
  V p = split(x, 1, 0);
  ASSERT_EQ(p.size(), 4u);
  for (const Tensor& t : p) EXPECT_EQ(t.grad_fn().get(), p[0].grad_fn().get());
  EXPECT_EQ(p[0].grad_fn()->name(), "SplitBackward0");
  EXPECT_EQ(p[0].grad_fn()->num_outputs(), 4u);
  EXPECT_EQ(split(x, std::vector<int64_t>{1, 3}, 0)[0].grad_fn()->name(), "SplitWithSizesBackward0");
  EXPECT_EQ(unbind(x, 1)[0].grad_fn()->name(), "UnbindBackward0");
  // A piece of a piece: the edge names which output of the first node it came from.
  V q = unbind(p[2], 0);
  ASSERT_EQ(q[0].grad_fn()->next_edges().size(), 1u);
  EXPECT_EQ(q[0].grad_fn()->next_edges()[0].node.get(), p[0].grad_fn().get());
  EXPECT_EQ(q[0].grad_fn()->next_edges()[0].input_nr, 2u);
}

TEST_F(Split, PieceCountsAndErrorsAsPyTorch) {
  Tensor x = zeros({6});
  EXPECT_EQ(chunk(x, 4).size(), 3u);  // ceil(6 / 4) = 2 per chunk
  EXPECT_EQ(chunk(zeros({5}), 4).size(), 3u);
  EXPECT_EQ(split(zeros({0}), 2).size(), 1u);
  EXPECT_EQ(chunk(zeros({0}), 3).size(), 3u);
  EXPECT_EQ(unbind(zeros({0, 2})).size(), 0u);
  EXPECT_THROW(split(x, 0), ShapeError);
  EXPECT_THROW(chunk(x, 0), ShapeError);
  EXPECT_THROW(split(x, std::vector<int64_t>{2, 3}), ShapeError);
  EXPECT_THROW(unbind(x, 1), IndexError);
  EXPECT_THROW(unbind(tensor({1.0}, {}), 0), IndexError);
  try {
    split(x, std::vector<int64_t>{2, 3});
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("sum to 5"), std::string::npos) << e.what();
  }
}

TEST_F(Split, PiecesAreViewsWithoutGradWhenNoneIsNeeded) {
  Tensor x = tensor({1.0, 2.0, 3.0, 4.0}, {2, 2}, DType::Float64);
  V p = unbind(x, 1);
  EXPECT_FALSE(p[0].requires_grad());
  EXPECT_EQ(p[1].to_vector(), (std::vector<double>{2.0, 4.0}));
  p[1].fill_(0.0);  // a view: the write shows in x
  EXPECT_EQ(x.to_vector(), (std::vector<double>{1.0, 0.0, 3.0, 0.0}));
}

int64_t bytes_allocated_by_unbind_backward(int64_t rows) {
  Tensor x = zeros({rows, 8}, DType::Float64, true);
  V rows_of = unbind(x, 0);
  Tensor total = rows_of[0];
  for (int64_t i = 1; i < rows; ++i) total = total + rows_of[i];
  Tensor loss = total.sum();
  int64_t before = memory_stats().allocated_bytes;
  loss.backward();
  EXPECT_EQ(x.grad().sum().item(), static_cast<double>(rows * 8));
  return memory_stats().allocated_bytes - before;
}

TEST_F(Split, UnbindBackwardIsLinearInPieces) {
  // One full-size zero gradient per piece would make this ratio 100; one node keeps it near 10.
  double ratio = static_cast<double>(bytes_allocated_by_unbind_backward(10000)) /
                 static_cast<double>(bytes_allocated_by_unbind_backward(1000));
  EXPECT_GT(ratio, 5.0);
  EXPECT_LT(ratio, 20.0);
}

}  // namespace
}  // namespace backprop
