#pragma once
// Helpers shared by tensor.cpp and the ops: broadcasting geometry, raw copies, random fills.
#include <vector>

#include "backprop/tensor.hpp"

namespace backprop {

/// The broadcast of two shapes; `op` names the caller in the ShapeError.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Element strides that read `t` as if it had `shape` (0 on broadcast dims).
Shape broadcast_strides(const Tensor& t, const Shape& shape, const char* op);
/// dst[...] = src broadcast to dst's shape, converting dtype; no autograd, no version bump.
void copy_into(const Tensor& dst, const Tensor& src);
/// Throws for in-place writes autograd cannot follow, and for read-only memory.
void check_inplace(const Tensor& t, const char* op);
/// Throws when `t`'s memory is read-only; every path that writes a tensor in place calls it.
void check_writable(const Tensor& t, const char* op);
/// Writes `result` into `self` and rebases self's history onto result's.
Tensor& assign_inplace(Tensor& self, const Tensor& result, const char* op);
void fill_uniform(const Tensor& t, double low, double high);
void fill_normal(const Tensor& t, double mean, double std);
/// n Bernoulli(keep_prob) draws from the global generator.
std::vector<bool> random_mask(int64_t n, double keep_prob);

}  // namespace backprop
