#include "op.hpp"

namespace backprop {

Tensor SavedTensor::unpack(const char* op) const {
  if (data_.defined() && (data_.storage().get() != storage_ || data_.numel() != numel_))
    throw RuntimeError(std::string("a tensor of shape ") + shape_str(data_.shape()) + " saved by " + op +
                       " was given new data (.data = ...) after it was saved; backward needs the values it had. "
                       "Assign .data before the forward pass, or copy_ into the tensor under no_grad instead");
  if (data_.defined() && data_.version() != version_)
    throw RuntimeError(std::string("one of the variables needed for gradient computation has been modified by an "
                                   "inplace operation: a tensor of shape ") +
                       shape_str(data_.shape()) + " saved by " + op + " is at version " +
                       std::to_string(data_.version()) + "; expected version " + std::to_string(version_) +
                       " instead. Avoid the in-place change or clone() the tensor before it");
  return data_;
}

Tensor OpBase::saved(int slot) const {
  if (released_)
    throw RuntimeError(std::string(name_) +
                       ": trying to backward through the graph a second time (or directly access saved tensors "
                       "after they have already been freed). Saved intermediate values of the graph are freed when "
                       "you call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
                       "through the graph a second time");
  const SavedTensor& s = saved_.at(static_cast<size_t>(slot));
  Tensor t = s.unpack(name_);
  if (!s.is_output() || !node_ || !t.defined() || !is_grad_enabled()) return t;
  // The op's own output, for a backward being recorded: the same storage, made output
  // output_nr of this node again, so the recorded gradient depends on the inputs through it.
  Tensor alias = make_view(t, t.shape(), t.strides(), t.offset());
  alias.impl()->grad_fn = node_->shared_from_this();
  alias.impl()->output_nr = s.output_nr();
  alias.impl()->requires_grad = true;
  return alias;
}

namespace detail {

void fit_to_inputs(std::vector<Tensor>& grads, const InputMetas& inputs, const Shape* output_shape) {
  for (size_t i = 0; i < grads.size() && i < inputs.size(); ++i) {
    if (!grads[i].defined()) continue;
    const Shape& shape = inputs[i].same_shape_as_output && output_shape ? *output_shape : inputs[i].shape;
    if (grads[i].shape() != shape) grads[i] = sum_to(grads[i], shape);
    if (grads[i].dtype() != inputs[i].dtype && is_floating(inputs[i].dtype)) grads[i] = grads[i].to(inputs[i].dtype);
  }
}

bool any_requires_grad(InputList inputs) {
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

InputMetas input_meta(InputList inputs, const Tensor& out) {
  InputMetas meta;
  meta.reserve(inputs.size);
  for (const Tensor* t : inputs) {
    if (!t->defined())
      meta.push_back(InputMeta{false, {}, DType::Float32});
    else if (t->shape() == out.shape())
      meta.push_back(InputMeta{true, {}, t->dtype()});
    else
      meta.push_back(InputMeta{false, t->shape(), t->dtype()});
  }
  return meta;
}

void mark_needs(OpBase& op, InputList inputs) {
  for (size_t i = 0; i < inputs.size; ++i) {
    bool needs = inputs.data[i]->defined() && inputs.data[i]->requires_grad();
    if (i < OpBase::kInlineInputs && needs) op.needs_mask_ |= 1u << i;
  }
  if (inputs.size > OpBase::kInlineInputs) {
    op.needs_large_.resize(inputs.size);
    for (size_t i = 0; i < inputs.size; ++i)
      op.needs_large_[i] = inputs.data[i]->defined() && inputs.data[i]->requires_grad();
  }
}

void connect(Node& node, InputList inputs) {
  auto& edges = node.mutable_next_edges();
  edges.reserve(inputs.size);
  for (const Tensor* t : inputs) {
    if (t->defined() && t->requires_grad()) {
      if (t->grad_fn())
        edges.push_back(Edge{t->grad_fn(), t->impl()->output_nr});
      else
        edges.push_back(Edge{grad_accumulator(*t), 0});
    } else {
      edges.push_back(Edge{});
    }
  }
}

Tensor attach_output(Tensor out, const std::shared_ptr<Node>& node, uint32_t output_nr, InputList inputs) {
  for (const Tensor* t : inputs)
    if (t->impl() == out.impl()) {
      out = make_view(out, out.shape(), out.strides(), out.offset());
      break;
    }
  out.impl()->grad_fn = node;
  out.impl()->output_nr = output_nr;
  out.impl()->requires_grad = true;
  return out;
}

Tensor attach(Tensor out, std::shared_ptr<Node> node, InputList inputs) {
  connect(*node, inputs);
  return attach_output(std::move(out), node, 0, inputs);
}

}  // namespace detail
std::vector<Tensor> record_custom_node(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
                                       const std::vector<Tensor>& outputs, const std::vector<bool>& differentiable) {
  if (differentiable.size() != outputs.size())
    throw ValueError("record_custom_node: one differentiable flag per output is needed, got " +
                     std::to_string(differentiable.size()) + " for " + std::to_string(outputs.size()) + " outputs");
  std::vector<const Tensor*> ptrs;
  ptrs.reserve(inputs.size());
  for (const Tensor& t : inputs) ptrs.push_back(&t);
  detail::InputList list{ptrs.data(), ptrs.size()};
  node->set_num_outputs(static_cast<uint32_t>(outputs.size()));
  detail::connect(*node, list);
  std::vector<Tensor> result(outputs.size());
  for (size_t k = 0; k < outputs.size(); ++k)
    if (outputs[k].defined() && differentiable[k])
      result[k] = detail::attach_output(outputs[k].detach(), node, static_cast<uint32_t>(k), list);
  return result;
}

}  // namespace backprop
