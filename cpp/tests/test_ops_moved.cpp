// The ops and Tensor methods that used to exist only in the Python bindings, now in the C++ API:
// amin, std, any/all, squeeze over several dims, NumPy-style index/index_put_, set_data,
// detach_, clamp_ and add_ with alpha. Gradients against central differences in float64.
#include "gradcheck.hpp"

namespace backprop {
namespace {

using namespace indexing;
using testing::expect_gradients;
using testing::leaf;
using V = std::vector<Tensor>;

class OpsMoved : public ::testing::Test {
 protected:
  void SetUp() override { manual_seed(11); }
};

std::vector<double> values(const Tensor& t) { return t.contiguous().to_vector(); }

TEST_F(OpsMoved, AminValuesAndGradients) {
  Tensor x = tensor({3, -1, 2, 5, 0, -4}, {2, 3});
  EXPECT_EQ(values(amin(x, {1})), (std::vector<double>{-1, -4}));
  EXPECT_EQ(values(amin(x, {0}, true)), (std::vector<double>{3, -1, -4}));
  EXPECT_EQ(amin(x, {0}, true).shape(), (Shape{1, 3}));
  EXPECT_EQ(amin(x, {}).item(), -4);
  expect_gradients([](const V& v) { return amin(v[0], {1}); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return amin(v[0], {0, 2}, true); }, {leaf({2, 3, 2})});
  // Ties share the gradient evenly, as amax does.
  Tensor t = tensor({1, 1, 2}, {3}, DType::Float64, true);
  amin(t, {0}).backward();
  EXPECT_EQ(values(t.grad()), (std::vector<double>{0.5, 0.5, 0}));
}

TEST_F(OpsMoved, StdValuesAndGradients) {
  Tensor x = tensor({1, 2, 3, 4}, {4}, DType::Float64);
  EXPECT_NEAR(backprop::std(x).item(), std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_NEAR(backprop::std(x, {}, 0.0).item(), std::sqrt(1.25), 1e-12);
  expect_gradients([](const V& v) { return backprop::std(v[0], {1}); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return backprop::std(v[0], {0}, 0.0, true); }, {leaf({3, 2})});
}

TEST_F(OpsMoved, AnyAndAll) {
  Tensor x = tensor({0, 1, 0, 0, 2, 3}, {2, 3});
  EXPECT_EQ(any(x).item(), 1);
  EXPECT_EQ(all(x).item(), 0);
  EXPECT_EQ(any(x, {1}).to_int_vector(), (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(all(x, {0}).to_int_vector(), (std::vector<int64_t>{0, 1, 0}));
  EXPECT_EQ(all(x, {1}, true).shape(), (Shape{2, 1}));
  EXPECT_EQ(any(x).dtype(), DType::Bool);
  Tensor r = leaf({2, 2});
  EXPECT_FALSE(any(r).requires_grad());
}

TEST_F(OpsMoved, SqueezeSeveralDims) {
  Tensor x = zeros({1, 3, 1, 2, 1});
  EXPECT_EQ(squeeze(x, std::vector<int64_t>{0, 2}).shape(), (Shape{3, 2, 1}));
  EXPECT_EQ(squeeze(x, std::vector<int64_t>{-1, 1}).shape(), (Shape{1, 3, 1, 2}));  // size 3 stays
  EXPECT_EQ(squeeze(x, std::vector<int64_t>{}).shape(), x.shape());
  EXPECT_THROW(squeeze(x, std::vector<int64_t>{0, -6}), IndexError);
  EXPECT_THROW(squeeze(x, std::vector<int64_t>{0, 0}), ShapeError);
  expect_gradients([](const V& v) { return squeeze(v[0], std::vector<int64_t>{0, 2}) * v[1]; },
                   {leaf({1, 3, 1}), leaf({3})});
}

TEST_F(OpsMoved, BasicIndexGivesViews) {
  Tensor x = reshape(arange(0, 12, 1, DType::Float64), {3, 4});
  Tensor r = x.index({Slice(0, 2), 1});  // x[0:2, 1]
  EXPECT_EQ(r.shape(), (Shape{2}));
  EXPECT_EQ(values(r), (std::vector<double>{1, 5}));
  EXPECT_EQ(r.data_ptr(), static_cast<double*>(x.data_ptr()) + 1);  // a view, no copy
  EXPECT_EQ(values(x.index({-1})), (std::vector<double>{8, 9, 10, 11}));
  EXPECT_EQ(values(x.index({Slice(None, None, 2), Slice(-2)})), (std::vector<double>{2, 3, 10, 11}));
  EXPECT_EQ(x.index({None, Ellipsis, 0}).shape(), (Shape{1, 3}));
  EXPECT_EQ(x.index({"...", None}).shape(), (Shape{3, 4, 1}));
  EXPECT_EQ(x.index({true}).shape(), (Shape{1, 3, 4}));
  EXPECT_EQ(x.index({false}).shape(), (Shape{0, 3, 4}));
  EXPECT_EQ(x.index({Slice(10, 20)}).shape(), (Shape{0, 4}));  // out-of-range bounds clip
  EXPECT_THROW(x.index({0, 0, 0}), IndexError);
  EXPECT_THROW(x.index({Ellipsis, 0, Ellipsis}), IndexError);
  EXPECT_THROW(x.index({Slice(0, 2, -1)}), ValueError);
  EXPECT_THROW(x.index({5}), IndexError);
  EXPECT_THROW(x.index({"x"}), TypeError);
}

TEST_F(OpsMoved, AdvancedIndexGathers) {
  Tensor x = reshape(arange(0, 12, 1, DType::Float64), {3, 4});
  Tensor rows = tensor({2, 0, 2}, {3}, DType::Int64);
  EXPECT_EQ(values(x.index({rows, 1})), (std::vector<double>{9, 1, 9}));
  Tensor cols = tensor({3, 0}, {2}, DType::Int64);
  EXPECT_EQ(x.index({Slice(), cols}).shape(), (Shape{3, 2}));
  EXPECT_EQ(values(x.index({Slice(), cols})), (std::vector<double>{3, 0, 7, 4, 11, 8}));
  Tensor mask = gt(x, scalar_tensor(6.5, DType::Float64));
  EXPECT_EQ(values(x.index({mask})), (std::vector<double>{7, 8, 9, 10, 11}));
  EXPECT_THROW(x.index({tensor({3}, {1}, DType::Int64)}), IndexError);
  EXPECT_THROW(x.index({tensor({1}, {1}, DType::Float32)}), IndexError);
  expect_gradients([rows](const V& v) { return v[0].index({rows, Slice(1, 3)}); }, {leaf({3, 4})});
  expect_gradients([mask](const V& v) { return v[0].index({mask}); }, {leaf({3, 4})});
  expect_gradients([](const V& v) { return v[0].index({Slice(0, 2), 1}); }, {leaf({3, 4})});
}

TEST_F(OpsMoved, IndexPutWritesInPlace) {
  Tensor x = zeros({3, 4}, DType::Float64);
  uint64_t before = x.version();
  x.index_put_({Slice(0, 2), 1}, 7.0);  // x[0:2, 1] = 7
  EXPECT_EQ(values(x), (std::vector<double>{0, 7, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0}));
  EXPECT_GT(x.version(), before);
  x.index_put_({tensor({2, 2}, {2}, DType::Int64), tensor({0, 3}, {2}, DType::Int64)},
               tensor({1, 2}, {2}, DType::Float64));
  EXPECT_EQ(values(x.index({2})), (std::vector<double>{1, 0, 0, 2}));
  x.index_put_({Ellipsis, -1}, tensor({5, 6, 8}, {3}, DType::Float64));
  EXPECT_EQ(values(x.index({Slice(), 3})), (std::vector<double>{5, 6, 8}));
  Tensor scalar = zeros({}, DType::Float64);
  scalar.index_put_({Ellipsis}, 3.0);
  EXPECT_EQ(scalar.item(), 3.0);
}

TEST_F(OpsMoved, IndexPutGradients) {
  // Written through a copy so the leaves stay leaves: out = x; out[0:2, 1] = v.
  expect_gradients(
      [](const V& v) {
        Tensor out = v[0] * 1.0;
        out.index_put_({Slice(0, 2), 1}, v[1]);
        return out;
      },
      {leaf({3, 4}), leaf({2})});
  Tensor rows = tensor({0, 2}, {2}, DType::Int64);
  expect_gradients(
      [rows](const V& v) {
        Tensor out = v[0] * 1.0;
        out.index_put_({rows}, v[1]);
        return out;
      },
      {leaf({3, 2}), leaf({2})});
  Tensor x = leaf({2, 2});
  EXPECT_THROW(x.index_put_({0}, 1.0), RuntimeError);  // a leaf that requires grad
}

TEST_F(OpsMoved, SetDataKeepsIdentityAndDropsStaleGrad) {
  Tensor p = leaf({2, 2});
  (p * 2.0).sum().backward();
  ASSERT_TRUE(p.grad().defined());
  Tensor alias = p;
  p.set_data(ones({3}, DType::Float64));
  EXPECT_EQ(alias.shape(), (Shape{3}));  // the same tensor, not a new one
  EXPECT_TRUE(p.requires_grad());
  EXPECT_FALSE(p.grad().defined());  // the old gradient no longer fits
  EXPECT_THROW(p.set_data(zeros({2}, DType::Int64)), TypeError);
}

TEST_F(OpsMoved, DetachInPlace) {
  Tensor a = leaf({3});
  Tensor b = a * 2.0;
  ASSERT_TRUE(b.grad_fn());
  b.detach_();
  EXPECT_FALSE(b.requires_grad());
  EXPECT_FALSE(b.grad_fn());
  EXPECT_EQ(values(b), values(a.detach() * 2.0));
}

TEST_F(OpsMoved, ClampAndAddWithAlphaInPlace) {
  expect_gradients(
      [](const V& v) {
        Tensor out = v[0] * 1.0;
        out.clamp_(-0.5, 0.5);
        return out;
      },
      {leaf({4, 3})});
  expect_gradients(
      [](const V& v) {
        Tensor out = v[0] * 1.0;
        out.add_(v[1], -2.5);
        return out;
      },
      {leaf({2, 3}), leaf({3})});
  Tensor i = tensor({1, 2}, {2}, DType::Int64);
  i.add_(tensor({1, 1}, {2}, DType::Int64), 3);
  EXPECT_EQ(i.to_int_vector(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(zeros({2}).stride(-1), 1);
  EXPECT_EQ(zeros({2, 5}).stride(0), 5);
}

TEST_F(OpsMoved, ValueErrorsNameWhatIsWrong) {
  EXPECT_THROW(set_num_threads(0), ValueError);
  EXPECT_THROW(dropout(ones({2}), 1.5), ValueError);
  EXPECT_THROW(mse_loss(ones({2}), ones({2}), "avg"), ValueError);
  EXPECT_THROW(arange(0, 1, 0), ValueError);
  EXPECT_THROW(cpu_capability_available("sse9"), TypeError);
  EXPECT_TRUE(cpu_capability_available("default"));
}

}  // namespace
}  // namespace backprop
