// flip, roll, repeat and tile: copies that reorder or replicate elements. flip is its own op (a
// reversed-stride read); the others are written over narrow/cat and expand/reshape, whose
// gradients already undo them.
#include <algorithm>

#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

std::vector<int64_t> unique_dims(const std::vector<int64_t>& dims, int64_t ndim, const char* op) {
  std::vector<int64_t> out;
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::vector<int64_t> sorted = out;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    throw ShapeError(std::string(op) + ": dim appears multiple times in the list of dims");
  return out;
}

struct Flip : OpBase {
  static constexpr const char* kName = "FlipBackward0";
  std::vector<int64_t> dims_;
  explicit Flip(std::vector<int64_t> dims) : dims_(std::move(dims)) {}
  Tensor forward(const Tensor& x) {
    dims_ = unique_dims(dims_, x.dim(), "flip");
    Shape strides = x.strides();
    int64_t offset = x.offset();
    // Reading with negated strides from the last element of each flipped dim reverses it.
    if (x.numel() > 0)
      for (int64_t d : dims_) {
        if (x.dim() == 0) break;
        offset += (x.shape()[d] - 1) * strides[d];
        strides[d] = -strides[d];
      }
    Tensor out = make_tensor(x.shape(), x.dtype());
    copy_into(out, make_view(x, x.shape(), strides, offset));
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) { return {flip(g, dims_)}; }
};

}  // namespace

Tensor flip(const Tensor& x, const std::vector<int64_t>& dims) { return record(Flip(dims), x); }

Tensor roll(const Tensor& x, const std::vector<int64_t>& shifts, const std::vector<int64_t>& dims) {
  if (dims.empty()) {
    if (shifts.size() != 1)
      throw ShapeError("roll: without dims, shifts must hold exactly one value, got " + std::to_string(shifts.size()));
    return reshape(roll(flatten(x), shifts, {0}), x.shape());
  }
  if (shifts.size() != dims.size())
    throw ShapeError("roll: shifts and dims must have the same length, got " + std::to_string(shifts.size()) + " and " +
                     std::to_string(dims.size()));
  Tensor out = x;
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_existing_dim(dims[i], x.dim(), "roll");
    int64_t n = x.shape()[d];
    if (n == 0) continue;
    int64_t s = ((shifts[i] % n) + n) % n;
    if (s == 0) continue;
    out = cat({narrow(out, d, n - s, s), narrow(out, d, 0, n - s)}, d);
  }
  return out.impl() == x.impl() ? x.clone() : out;
}

Tensor repeat(const Tensor& x, const std::vector<int64_t>& repeats) {
  int64_t lead = static_cast<int64_t>(repeats.size()) - x.dim();
  if (lead < 0)
    throw ShapeError("repeat: the number of repeats (" + std::to_string(repeats.size()) +
                     ") can not be smaller than the number of dimensions of the tensor (" + std::to_string(x.dim()) +
                     "); pass one count per dim");
  for (int64_t r : repeats)
    if (r < 0) throw ValueError("repeat: repeats can not be negative, got " + std::to_string(r));
  // Each dim of size s becomes a (1, s) pair expanded to (r, s) and merged: copies laid end to end.
  Shape pairs, expanded, merged;
  for (size_t i = 0; i < repeats.size(); ++i) {
    int64_t s = static_cast<int64_t>(i) < lead ? 1 : x.shape()[i - lead];
    pairs.push_back(1);
    pairs.push_back(s);
    expanded.push_back(repeats[i]);
    expanded.push_back(s);
    merged.push_back(repeats[i] * s);
  }
  Tensor out = reshape(expand(reshape(x, pairs), expanded), merged);
  // With every count 1 the reshapes are views; repeat always hands back a copy.
  return out.storage() == x.storage() ? out.clone() : out;
}

Tensor tile(const Tensor& x, const std::vector<int64_t>& dims) {
  std::vector<int64_t> reps(dims);
  if (static_cast<int64_t>(reps.size()) < x.dim()) reps.insert(reps.begin(), x.dim() - reps.size(), 1);
  return repeat(x, reps);
}

}  // namespace backprop
