// unbind, split and chunk: ops with one output per piece, recorded as one node. Each piece is a
// view; backward writes every piece's gradient into one buffer of the input's shape, so it costs
// O(numel) however many pieces there are (one slice node per piece would cost O(pieces * numel)).
#include <algorithm>

#include "op.hpp"

namespace backprop {
namespace {

// Pieces that got no gradient contribute zeros; the rest are joined along the split dim.
std::vector<Tensor> join_gradients(const std::vector<Tensor>& grads, const std::vector<Shape>& shapes, DType dtype,
                                   int64_t dim, bool stacked) {
  std::vector<Tensor> parts;
  parts.reserve(grads.size());
  for (size_t k = 0; k < grads.size(); ++k) parts.push_back(grads[k].defined() ? grads[k] : zeros(shapes[k], dtype));
  return {stacked ? stack(parts, dim) : cat(parts, dim)};
}

struct Unbind : OpBase {
  static constexpr const char* kName = "UnbindBackward0";
  int64_t dim_;
  Shape piece_shape_;
  DType dtype_ = DType::Float32;
  explicit Unbind(int64_t dim) : dim_(dim) {}
  std::vector<Tensor> forward(const Tensor& x) {
    dim_ = wrap_existing_dim(dim_, x.dim(), "unbind");
    dtype_ = x.dtype();
    Shape shape = x.shape(), strides = x.strides();
    int64_t n = shape[dim_], step = strides[dim_];
    shape.erase(shape.begin() + dim_);
    strides.erase(strides.begin() + dim_);
    piece_shape_ = shape;
    std::vector<Tensor> out;
    out.reserve(n);
    for (int64_t i = 0; i < n; ++i) out.push_back(view_of(x, shape, strides, x.offset() + i * step));
    return out;
  }
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) {
    std::vector<Shape> shapes(grads.size(), piece_shape_);
    return join_gradients(grads, shapes, dtype_, dim_, true);
  }
};

struct Split : OpBase {
  static constexpr const char* kName = "SplitBackward0";
  int64_t dim_;
  std::vector<int64_t> sizes_;
  Shape in_shape_;
  DType dtype_ = DType::Float32;
  Split(int64_t dim, std::vector<int64_t> sizes) : dim_(dim), sizes_(std::move(sizes)) {}
  std::vector<Tensor> forward(const Tensor& x) {
    in_shape_ = x.shape();
    dtype_ = x.dtype();
    Shape shape = x.shape();
    std::vector<Tensor> out;
    out.reserve(sizes_.size());
    int64_t at = 0;
    for (int64_t size : sizes_) {
      shape[dim_] = size;
      out.push_back(view_of(x, shape, x.strides(), x.offset() + at * x.strides()[dim_]));
      at += size;
    }
    return out;
  }
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) {
    std::vector<Shape> shapes;
    shapes.reserve(sizes_.size());
    for (int64_t size : sizes_) {
      shapes.push_back(in_shape_);
      shapes.back()[dim_] = size;
    }
    return join_gradients(grads, shapes, dtype_, dim_, false);
  }
};

// PyTorch names the node after the call: split(x, n) and chunk give SplitBackward0.
struct SplitWithSizes : Split {
  static constexpr const char* kName = "SplitWithSizesBackward0";
  using Split::Split;
};

}  // namespace

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
  return record_multi(Unbind(dim), x);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  int64_t d = wrap_existing_dim(dim, x.dim(), "split");
  int64_t size = x.shape()[d];
  if (split_size < 0 || (split_size == 0 && size != 0))
    throw ShapeError("split: split_size must be positive (it can only be 0 if dimension " + std::to_string(d) +
                     " has size 0), got " + std::to_string(split_size) + " for a dimension of size " +
                     std::to_string(size));
  std::vector<int64_t> sizes;
  for (int64_t at = 0; at < size; at += split_size) sizes.push_back(std::min(split_size, size - at));
  if (sizes.empty()) sizes.push_back(0);  // an empty dim splits into one empty piece, as PyTorch
  return record_multi(Split(d, std::move(sizes)), x);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t dim) {
  return split_with_sizes(x, split_sizes, dim);
}

std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& split_sizes, int64_t dim) {
  int64_t d = wrap_existing_dim(dim, x.dim(), "split_with_sizes");
  int64_t size = x.shape()[d], total = 0;
  for (int64_t s : split_sizes) {
    if (s < 0)
      throw ShapeError("split_with_sizes: split sizes must be non-negative, got " + std::to_string(s));
    total += s;
  }
  if (total != size)
    throw ShapeError("split_with_sizes: split sizes sum to " + std::to_string(total) + " but dimension " +
                     std::to_string(d) + " has size " + std::to_string(size) + "; pass sizes that add up to it");
  return record_multi(SplitWithSizes(d, split_sizes), x);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  if (chunks <= 0) throw ShapeError("chunk: chunks must be positive, got " + std::to_string(chunks));
  int64_t d = wrap_existing_dim(dim, x.dim(), "chunk");
  int64_t size = x.shape()[d];
  if (size == 0)  // every chunk is empty, and there are `chunks` of them, as PyTorch
    return record_multi(Split(d, std::vector<int64_t>(static_cast<size_t>(chunks), 0)), x);
  return split(x, (size + chunks - 1) / chunks, d);
}

}  // namespace backprop
