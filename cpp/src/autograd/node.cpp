#include <atomic>

#include "../tensor_impl.hpp"
#include "accumulate_grad.hpp"
#include "backprop/ops.hpp"

namespace backprop {
namespace {

std::atomic<uint64_t> g_next_sequence_nr{0};
thread_local bool t_grad_enabled = true;
// Nodes whose destruction was deferred by an outer ~Node; see ~Node.
thread_local std::vector<std::shared_ptr<Node>>* t_pending_teardown = nullptr;

}  // namespace

bool is_grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }

Node::Node() : sequence_nr_(g_next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

Node::~Node() {
  // Releasing a long chain recursively would overflow the stack, so the outermost destructor
  // collects the children and drops them one at a time; nested destructors only hand theirs over.
  if (t_pending_teardown) {
    for (auto& e : next_edges_)
      if (e.node) t_pending_teardown->push_back(std::move(e.node));
    return;
  }
  std::vector<std::shared_ptr<Node>> pending;
  for (auto& e : next_edges_)
    if (e.node) pending.push_back(std::move(e.node));
  if (pending.empty()) return;
  t_pending_teardown = &pending;
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    n.reset();
  }
  t_pending_teardown = nullptr;
}

std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
  TensorImpl* impl = leaf.impl();
  std::lock_guard<std::mutex> lock(impl->grad_mutex);
  if (auto existing = impl->grad_accumulator.lock()) return existing;
  auto node = std::make_shared<AccumulateGrad>(leaf.impl_ptr());
  impl->grad_accumulator = node;
  return node;
}

std::vector<GradHook>& Node::pre_hooks(uint32_t output_nr) {
  if (output_nr >= pre_hooks_.size()) pre_hooks_.resize(static_cast<size_t>(output_nr) + 1);
  return pre_hooks_[output_nr];
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grad_outputs) {
  if (grad_outputs.empty() || !grad_outputs[0].defined()) return {};
  const Tensor& grad_output = grad_outputs[0];
  if (grad_output.shape() != variable_->shape)
    throw RuntimeError("AccumulateGrad: the gradient has shape " + shape_str(grad_output.shape()) +
                       " but the leaf now has shape " + shape_str(variable_->shape) +
                       "; was .data of a parameter replaced between forward and backward?");
  std::lock_guard<std::mutex> lock(variable_->grad_mutex);
  Tensor& grad = variable_->grad;
  if (!grad.defined()) {
    // The incoming gradient may be shared with other leaves or the caller: keep a private copy.
    grad = grad_output.clone();
  } else {
    grad = grad + grad_output;
  }
  return {};
}

}  // namespace backprop
