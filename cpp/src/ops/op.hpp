#pragma once
// The single piece of graph wiring shared by every differentiable op.
//
// An op is a struct deriving from OpBase with
//   static constexpr const char* kName = "MulBackward0";
//   Tensor forward(const Tensor& a, const Tensor& b);           // any number of Tensor inputs,
//                                                               // or (const std::vector<Tensor>&)
//   std::vector<Tensor> backward(const Tensor& grad);            // one gradient per input
// forward() checks shapes, calls kernels and save()s what backward needs; its attributes are
// plain members. record() runs forward, and when any input requires grad (and grad mode is on)
// it moves the op into a graph node wired to the inputs' nodes. Gradients whose shape differs
// from their input's shape are summed back to it here, so no backward undoes broadcasting itself.
//
// An op with several outputs (split, unbind) instead has
//   std::vector<Tensor> forward(const Tensor& x, ...);           // the outputs
//   std::vector<Tensor> backward(const std::vector<Tensor>& grads); // one per output, undefined
//                                                                   // where none arrived
// and is run by record_multi(): one node for all outputs, called once in backward.
#include <memory>
#include <string>
#include <vector>

#include "../pool.hpp"
#include "../tensor_impl.hpp"
#include "backprop/autograd.hpp"
#include "backprop/ops.hpp"

namespace backprop {

/// A tensor kept for backward, with the storage version it had when it was saved. Inputs are
/// kept by handle; the op's own output is re-saved detached (see record_impl), since holding it
/// with its grad_fn would make a reference cycle through this node. A backward that is being
/// recorded (create_graph) gets the output back as an alias whose grad_fn is the node again (see
/// OpBase::saved), so gradients flow through it to the op's inputs.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t)
      : data_(t),
        version_(t.defined() ? t.version() : 0),
        storage_(t.defined() ? t.storage().get() : nullptr),
        numel_(t.defined() ? t.numel() : 0) {}
  Tensor unpack(const char* op) const;
  const Tensor& data() const { return data_; }
  void detach_from(const Tensor& output, uint32_t output_nr = 0) {
    if (data_.impl() != output.impl()) return;
    data_ = data_.detach();
    is_output_ = true;
    output_nr_ = output_nr;
  }
  bool is_output() const { return is_output_; }
  uint32_t output_nr() const { return output_nr_; }

 private:
  Tensor data_;
  bool is_output_ = false;
  uint32_t output_nr_ = 0;
  uint64_t version_ = 0;
  // Also checked on unpack: `.data = other` swaps a tensor's storage and geometry in place.
  const void* storage_ = nullptr;
  int64_t numel_ = 0;
};

class OpBase {
 public:
  /// Keeps `t` for backward when the op is being recorded; returns its slot.
  int save(const Tensor& t) {
    if (!recording_) return -1;
    if (saved_.empty()) saved_.reserve(3);
    saved_.emplace_back(t);
    return static_cast<int>(saved_.size()) - 1;
  }
  /// Whether input `i` needs a gradient (valid in backward).
  bool needs(size_t i) const {
    return i < kInlineInputs ? (needs_mask_ >> i) & 1u : (i < needs_large_.size() && needs_large_[i]);
  }
  bool recording() const { return recording_; }
  /// What save() kept, for graph viewers (Node::saved_tensors).
  std::vector<Tensor> saved_tensors() const {
    std::vector<Tensor> out;
    out.reserve(saved_.size());
    for (const SavedTensor& s : saved_) out.push_back(s.data());
    return out;
  }

  // Used by record() and OpNode only.
  static constexpr size_t kInlineInputs = 32;
  std::vector<SavedTensor, pool::Allocator<SavedTensor>> saved_;
  uint32_t needs_mask_ = 0;         // inputs below kInlineInputs (no allocation per op)
  std::vector<bool> needs_large_;   // every input, for ops over long lists (cat, stack)
  bool recording_ = false;
  bool released_ = false;
  const char* name_ = "";
  // The node that holds this op, set while a recorded backward runs (create_graph): saved
  // outputs are then unpacked with it as their grad_fn. Null otherwise.
  Node* node_ = nullptr;

 protected:
  Tensor saved(int slot) const;
};

// What OpNode needs to know of an input to fix its gradient up. The shape is copied only when it
// differs from the output's: most ops don't broadcast, and the copy would cost an allocation.
struct InputMeta {
  bool same_shape_as_output;
  Shape shape;
  DType dtype;
};
// Pooled: one of these is made for every recorded op and freed with the graph.
using InputMetas = std::vector<InputMeta, pool::Allocator<InputMeta>>;

namespace detail {
/// Gives each gradient its input's shape (summing broadcast dims back: the one place that
/// undoes broadcasting) and floating dtype. `output_shape` is the shape inputs marked
/// same_shape_as_output share; null for nodes with several outputs, which record every shape.
void fit_to_inputs(std::vector<Tensor>& grads, const InputMetas& inputs, const Shape* output_shape);
}  // namespace detail

template <class Op>
class OpNode final : public Node {
 public:
  OpNode(Op&& op, InputMetas inputs) : op_(std::move(op)), inputs_(std::move(inputs)) {}

  // Ops of one output keep their one-gradient backward; the engine only calls a node when a
  // gradient arrived, so the single slot is defined here.
  std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override {
    const Tensor& grad_output = grad_outputs[0];
    op_.node_ = is_grad_enabled() ? this : nullptr;
    std::vector<Tensor> grads = op_.backward(grad_output);
    detail::fit_to_inputs(grads, inputs_, &grad_output.shape());
    return grads;
  }
  std::string name() const override { return Op::kName; }
  void release_saved() override {
    op_.saved_.clear();
    op_.released_ = true;
  }
  std::vector<Tensor> saved_tensors() const override { return op_.saved_tensors(); }
  Op& op() { return op_; }

 private:
  Op op_;
  InputMetas inputs_;
};

/// The node of an op with several outputs: all of them share it, each as its own output slot.
template <class Op>
class MultiOpNode final : public Node {
 public:
  MultiOpNode(Op&& op, InputMetas inputs) : op_(std::move(op)), inputs_(std::move(inputs)) {}

  std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override {
    op_.node_ = is_grad_enabled() ? this : nullptr;
    std::vector<Tensor> grads = op_.backward(grad_outputs);
    detail::fit_to_inputs(grads, inputs_, nullptr);
    return grads;
  }
  std::string name() const override { return Op::kName; }
  void release_saved() override {
    op_.saved_.clear();
    op_.released_ = true;
  }
  std::vector<Tensor> saved_tensors() const override { return op_.saved_tensors(); }
  Op& op() { return op_; }

 private:
  Op op_;
  InputMetas inputs_;
};

namespace detail {

/// The inputs of one op call, without owning them.
struct InputList {
  const Tensor* const* data;
  size_t size;
  const Tensor* const* begin() const { return data; }
  const Tensor* const* end() const { return data + size; }
};

bool any_requires_grad(InputList inputs);
/// Gives `out` a grad_fn wired to `inputs`, making sure it does not alias an input's handle.
Tensor attach(Tensor out, std::shared_ptr<Node> node, InputList inputs);
/// Points `node`'s edges at the nodes (and output slots) of `inputs`.
void connect(Node& node, InputList inputs);
/// Makes `out` output `output_nr` of `node` (already connected), without aliasing an input's handle.
Tensor attach_output(Tensor out, const std::shared_ptr<Node>& node, uint32_t output_nr, InputList inputs);
InputMetas input_meta(InputList inputs, const Tensor& out);
void mark_needs(OpBase& op, InputList inputs);

template <class Op, class Forward>
Tensor record_impl(Op& op, InputList inputs, Forward&& forward) {
  if (!is_grad_enabled() || !any_requires_grad(inputs)) return forward();
  op.recording_ = true;
  op.name_ = Op::kName;
  mark_needs(op, inputs);
  Tensor out;
  {
    NoGradGuard no_grad;
    out = forward();
  }
  for (SavedTensor& saved : op.saved_) saved.detach_from(out);
  auto node = std::allocate_shared<OpNode<Op>>(pool::Allocator<OpNode<Op>>(), std::move(op), input_meta(inputs, out));
  return attach(std::move(out), std::move(node), inputs);
}

template <class Op, class Forward>
std::vector<Tensor> record_multi_impl(Op& op, InputList inputs, Forward&& forward) {
  if (!is_grad_enabled() || !any_requires_grad(inputs)) return forward();
  op.recording_ = true;
  op.name_ = Op::kName;
  mark_needs(op, inputs);
  std::vector<Tensor> outs;
  {
    NoGradGuard no_grad;
    outs = forward();
  }
  for (SavedTensor& saved : op.saved_)
    for (size_t k = 0; k < outs.size(); ++k) saved.detach_from(outs[k], static_cast<uint32_t>(k));
  InputMetas meta;
  meta.reserve(inputs.size);
  for (const Tensor* t : inputs)
    meta.push_back(InputMeta{false, t->defined() ? t->shape() : Shape{}, t->defined() ? t->dtype() : DType::Float32});
  auto node = std::allocate_shared<MultiOpNode<Op>>(pool::Allocator<MultiOpNode<Op>>(), std::move(op), std::move(meta));
  node->set_num_outputs(static_cast<uint32_t>(outs.size()));
  connect(*node, inputs);
  for (size_t k = 0; k < outs.size(); ++k) outs[k] = attach_output(std::move(outs[k]), node, static_cast<uint32_t>(k), inputs);
  return outs;
}

}  // namespace detail

/// Runs an op with several outputs (see the top of this file) and records it as one node.
template <class Op, class... Ts>
std::vector<Tensor> record_multi(Op op, const Ts&... inputs) {
  const Tensor* ptrs[] = {&inputs...};
  return detail::record_multi_impl(op, detail::InputList{ptrs, sizeof...(Ts)}, [&]() { return op.forward(inputs...); });
}

/// Runs `op` on tensor inputs and records it when a gradient is needed.
template <class Op, class... Ts>
Tensor record(Op op, const Ts&... inputs) {
  const Tensor* ptrs[] = {&inputs...};
  return detail::record_impl(op, detail::InputList{ptrs, sizeof...(Ts)}, [&]() { return op.forward(inputs...); });
}

/// The same for ops over a list of tensors (cat, stack).
template <class Op>
Tensor record_list(Op op, const std::vector<Tensor>& inputs) {
  std::vector<const Tensor*> ptrs;
  ptrs.reserve(inputs.size());
  for (const Tensor& t : inputs) ptrs.push_back(&t);
  return detail::record_impl(op, detail::InputList{ptrs.data(), ptrs.size()}, [&]() { return op.forward(inputs); });
}

}  // namespace backprop
