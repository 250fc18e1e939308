// The issue-13 ops through the C++ API alone: gradients against central differences (cumprod
// with zeros, sort/topk, einsum, diagonals, norms) and einsum's errors.
#include <string>

#include "gradcheck.hpp"

namespace backprop {
namespace {

using testing::expect_gradients;
using testing::leaf;
using V = std::vector<Tensor>;

class OpsMore : public ::testing::Test {
 protected:
  void SetUp() override { manual_seed(5); }
};

TEST_F(OpsMore, CumulativeGradients) {
  expect_gradients([](const V& v) { return cumsum(v[0], 1); }, {leaf({3, 4})});
  Tensor x = leaf({2, 5}, 0.5, 1.5);
  {
    NoGradGuard no_grad;
    x.index_put_({0, 2}, 0.0);  // one zero in the first row, two in the second
    x.index_put_({1, 0}, 0.0);
    x.index_put_({1, 3}, 0.0);
  }
  expect_gradients([](const V& v) { return cumprod(v[0], 1); }, {x});
  expect_gradients([](const V& v) { return cumprod(v[0], 0); }, {leaf({4, 2}, 0.5, 1.5)});
}

TEST_F(OpsMore, SortAndTopkGradients) {
  expect_gradients([](const V& v) { return sort(v[0], 0, true).first; }, {leaf({5, 2})});
  expect_gradients([](const V& v) { return topk(v[0], 2, -1, false).first; }, {leaf({3, 4})});
  auto [values, indices] = sort(tensor({3, 1, 2}, {3}), 0);
  EXPECT_EQ(indices.dtype(), DType::Int64);
  EXPECT_EQ(indices.to_int_vector(), (std::vector<int64_t>{1, 2, 0}));
  EXPECT_EQ(argsort(tensor({3, 1, 2}, {3}), 0, true).to_int_vector(), (std::vector<int64_t>{0, 2, 1}));
}

TEST_F(OpsMore, EinsumGradients) {
  expect_gradients([](const V& v) { return einsum("bij,bjk->bik", v); }, {leaf({2, 2, 3}), leaf({2, 3, 2})});
  expect_gradients([](const V& v) { return einsum("ii->i", v); }, {leaf({3, 3})});
  expect_gradients([](const V& v) { return einsum("i,j", v); }, {leaf({3}), leaf({2})});
  expect_gradients([](const V& v) { return einsum("...i,i->...", v); }, {leaf({2, 3, 4}), leaf({4})});
}

TEST_F(OpsMore, EinsumErrorsNameTheProblem) {
  try {
    einsum("ij,jk->ik", {zeros({2, 3}), zeros({4, 5})});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("subscript 'j' has size 4"), std::string::npos) << e.what();
  }
  EXPECT_THROW(einsum("ij->k", {zeros({2, 3})}), ValueError);
  EXPECT_THROW(einsum("i#", {zeros({2, 3})}), ValueError);
}

TEST_F(OpsMore, ShapeAndNormGradients) {
  expect_gradients([](const V& v) { return roll(flip(v[0], {0}), {1}, {1}); }, {leaf({2, 3})});
  expect_gradients([](const V& v) { return tile(v[0], {2, 1, 2}); }, {leaf({2, 3})});
  expect_gradients([](const V& v) { return diag(v[0], 1) + tril(v[1]); }, {leaf({3}), leaf({4, 4})});
  expect_gradients([](const V& v) { return trace(v[0]) * vector_norm(v[0], 3.0, {1}); }, {leaf({3, 3})});
  expect_gradients([](const V& v) { return matrix_norm(v[0], "fro") + dist(v[0], v[1], 1.5); },
                   {leaf({2, 3}), leaf({3})});
}

}  // namespace
}  // namespace backprop
