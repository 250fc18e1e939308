#pragma once
// The state behind a Tensor handle. Internal: the public API reaches it only through Tensor.
#include <memory>
#include <mutex>
#include <vector>

#include "backprop/autograd.hpp"
#include "backprop/tensor.hpp"
#include "storage.hpp"

namespace backprop {

/// The largest rank a tensor may have (the strided kernels iterate over at most this many dims).
constexpr int64_t kMaxTensorDims = 64;

class TensorImpl {
 public:
  TensorImpl(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset,
             DType dtype);

  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset;  // in elements
  DType dtype;
  int64_t numel;
  bool requires_grad = false;
  bool retains_grad = false;
  // Shares storage with the tensor it was viewed from. Autograd cannot follow an in-place write
  // through a view back to its base, so such writes are refused while a gradient is involved.
  bool is_view = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  // Which output of grad_fn this tensor is (split and unbind pieces, tuple-returning Functions).
  uint32_t output_nr = 0;
  // Leaves reuse one AccumulateGrad node so that hooks and the engine see the same node.
  std::weak_ptr<Node> grad_accumulator;
  // Hooks of a leaf, run before accumulation (kept here because the accumulator is weak).
  std::vector<GradHook> leaf_hooks;
  // Guards `grad` and `grad_accumulator`: several threads may run backward into one leaf at once
  // (Hogwild training), and a shared_ptr assigned in one thread while read in another is a race.
  mutable std::mutex grad_mutex;

  void* data_ptr() const {
    return static_cast<char*>(storage->data()) + offset * static_cast<int64_t>(element_size(dtype));
  }
  bool is_contiguous() const;
};

/// Row-major strides for `shape`.
Shape contiguous_strides(const Shape& shape);
/// A new contiguous tensor that owns its storage.
Tensor make_tensor(const Shape& shape, DType dtype);
/// A view of `base`'s storage with the given geometry; carries no autograd state.
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);
/// make_view for the result of a view op: marked as a view, so that in-place writes through it
/// are refused while a gradient is involved.
Tensor view_of(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);
/// The AccumulateGrad node of a leaf that requires grad (created on first use).
std::shared_ptr<Node> grad_accumulator(const Tensor& leaf);
/// Wraps a negative dim and checks the range; `op` names the caller in the message.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
/// wrap_dim for callers that index the shape with the result: a 0-d tensor has no dim to name.
int64_t wrap_existing_dim(int64_t dim, int64_t ndim, const char* op);

}  // namespace backprop
