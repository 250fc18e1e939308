// SmallVector, the storage of Shape: inline up to N elements, heap beyond, the std::vector API
// the library uses, including operations whose source aliases the vector itself.
#include <gtest/gtest.h>

#include <vector>

#include "backprop/small_vector.hpp"
#include "backprop/tensor.hpp"

using backprop::SmallVector;
using V = SmallVector<int64_t, 3>;

static std::vector<int64_t> vec(const V& v) { return std::vector<int64_t>(v.begin(), v.end()); }

TEST(SmallVector, GrowsFromInlineToHeapAndKeepsValues) {
  V v;
  for (int64_t i = 0; i < 20; ++i) {
    v.push_back(i * 7);
    ASSERT_EQ(v.size(), static_cast<size_t>(i + 1));
  }
  EXPECT_GE(v.capacity(), 20u);
  for (int64_t i = 0; i < 20; ++i) EXPECT_EQ(v[i], i * 7);
}

TEST(SmallVector, CopyAndMoveInlineAndHeap) {
  for (size_t n : {0u, 2u, 3u, 4u, 9u}) {
    V a;
    for (size_t i = 0; i < n; ++i) a.push_back(static_cast<int64_t>(i) + 1);
    V b(a);
    EXPECT_EQ(a, b);
    V c(std::move(b));
    EXPECT_EQ(vec(c), vec(a));
    EXPECT_TRUE(b.empty());
    V d{42};
    d = c;
    EXPECT_EQ(d, a);
    V e{1, 2, 3, 4, 5, 6};
    e = std::move(d);
    EXPECT_EQ(e, a);
    e = e;  // self-assignment keeps the contents
    EXPECT_EQ(e, a);
  }
}

TEST(SmallVector, InsertEraseAssignResize) {
  V v{1, 2, 3};
  v.insert(v.begin() + 1, 9);
  EXPECT_EQ(vec(v), (std::vector<int64_t>{1, 9, 2, 3}));
  v.insert(v.begin(), v.begin() + 1, v.end());  // the range aliases the vector
  EXPECT_EQ(vec(v), (std::vector<int64_t>{9, 2, 3, 1, 9, 2, 3}));
  v.erase(v.begin() + 2, v.begin() + 5);
  EXPECT_EQ(vec(v), (std::vector<int64_t>{9, 2, 2, 3}));
  v.erase(v.begin());
  EXPECT_EQ(vec(v), (std::vector<int64_t>{2, 2, 3}));
  v.push_back(v[0]);  // the value aliases the vector while it grows
  EXPECT_EQ(vec(v), (std::vector<int64_t>{2, 2, 3, 2}));
  v.assign(v.begin() + 1, v.end());
  EXPECT_EQ(vec(v), (std::vector<int64_t>{2, 3, 2}));
  v.resize(5, -1);
  EXPECT_EQ(vec(v), (std::vector<int64_t>{2, 3, 2, -1, -1}));
  v.resize(1);
  EXPECT_EQ(v.back(), 2);
  v.assign(4, 8);
  EXPECT_EQ(vec(v), (std::vector<int64_t>{8, 8, 8, 8}));
  EXPECT_THROW(v.at(4), std::out_of_range);
}

TEST(SmallVector, ConvertsAndComparesWithStdVector) {
  std::vector<int64_t> s{4, 5, 6, 7};
  V v = s;
  EXPECT_TRUE(v == s);
  EXPECT_FALSE(v != s);
  std::vector<int64_t> back = v;
  EXPECT_EQ(back, s);
  EXPECT_TRUE(V({1, 2}) < V({1, 3}));
  EXPECT_NE(V({1, 2}), V({1, 2, 0}));
}

TEST(SmallVector, ShapeOfManyDimsWorksInTensors) {
  backprop::Shape shape(8, 1);
  shape[7] = 3;
  backprop::Tensor t = backprop::zeros(shape);
  EXPECT_EQ(t.dim(), 8);
  EXPECT_EQ(t.numel(), 3);
  EXPECT_EQ(t.reshape({3}).shape(), backprop::Shape({3}));
}
