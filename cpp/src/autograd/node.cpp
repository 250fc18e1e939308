#include <atomic>

#include "../dispatch.hpp"
#include "../kernels/strided.hpp"
#include "../storage.hpp"
#include "../tensor_impl.hpp"
#include "accumulate_grad.hpp"
#include "backprop/ops.hpp"

namespace backprop {
namespace {

std::atomic<uint64_t> g_next_sequence_nr{0};
thread_local bool t_grad_enabled = true;
std::atomic<bool> g_anomaly_enabled{false};
std::atomic<bool> g_anomaly_check_nan{true};
std::function<std::string()> g_anomaly_trace_fn;
// Nodes whose destruction was deferred by an outer ~Node; see ~Node.
thread_local std::vector<std::shared_ptr<Node>>* t_pending_teardown = nullptr;
// Set while a leaf's AccumulateGrad is made under its lock: the trace function may wait for
// Python's GIL, whose holder may be waiting for that lock. A leaf's node has no forward call anyway.
thread_local bool t_no_trace = false;

}  // namespace

bool is_grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }

bool is_anomaly_enabled() { return g_anomaly_enabled.load(std::memory_order_relaxed); }
bool is_anomaly_check_nan_enabled() { return g_anomaly_check_nan.load(std::memory_order_relaxed); }
void set_detect_anomaly(bool enabled, bool check_nan) {
  g_anomaly_check_nan.store(check_nan, std::memory_order_relaxed);
  g_anomaly_enabled.store(enabled, std::memory_order_relaxed);
}
void set_anomaly_trace_fn(std::function<std::string()> fn) { g_anomaly_trace_fn = std::move(fn); }

Node::Node() : sequence_nr_(g_next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {
  if (g_anomaly_enabled.load(std::memory_order_relaxed) && g_anomaly_trace_fn && !t_no_trace) {
    std::string trace = g_anomaly_trace_fn();
    if (!trace.empty()) annotations().forward_trace = std::move(trace);
  }
}

Node::Annotations& Node::annotations() {
  if (!annotations_) annotations_ = std::make_unique<Annotations>();
  return *annotations_;
}

const std::string& Node::forward_trace() const {
  static const std::string kNone;
  return annotations_ ? annotations_->forward_trace : kNone;
}

void Node::set_forward_trace(std::string trace) { annotations().forward_trace = std::move(trace); }

std::shared_ptr<void>& Node::binding_data() { return annotations().binding_data; }

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
  struct NoTrace {
    NoTrace() { t_no_trace = true; }
    ~NoTrace() { t_no_trace = false; }
  } no_trace;
  auto node = std::make_shared<AccumulateGrad>(leaf.impl_ptr());
  impl->grad_accumulator = node;
  return node;
}

Tensor accumulated_variable(const Node& node) {
  auto* acc = dynamic_cast<const AccumulateGrad*>(&node);
  return acc ? Tensor(acc->variable()) : Tensor();
}

std::vector<GradHook>& Node::pre_hooks(uint32_t output_nr) {
  if (output_nr >= pre_hooks_.size()) pre_hooks_.resize(static_cast<size_t>(output_nr) + 1);
  return pre_hooks_[output_nr];
}

namespace {

// Whether a storage holds exactly the elements of a dense tensor that starts at its beginning, and
// may be written: then a tensor over it can be kept or changed without anyone else seeing it.
bool owns_dense_storage(const TensorImpl& t) {
  return t.offset == 0 && t.is_contiguous() && !t.storage->read_only() &&
         t.storage->nbytes() == static_cast<size_t>(t.numel) * element_size(t.dtype);
}

bool can_take_over(const Tensor& incoming, const TensorImpl& leaf) {
  const TensorImpl& t = *incoming.impl();
  return incoming.impl_ptr().use_count() == 1 && t.storage.use_count() == 1 && !t.grad_fn && !t.requires_grad &&
         t.dtype == leaf.dtype && owns_dense_storage(t);
}

bool can_add_in_place(const Tensor& grad, const Tensor& incoming) {
  const TensorImpl& g = *grad.impl();
  return grad.impl_ptr().use_count() == 1 && g.storage.use_count() == 1 && !g.grad_fn && !g.requires_grad &&
         g.dtype == incoming.dtype() && owns_dense_storage(g);
}

void add_in_place(Tensor& grad, const Tensor& incoming) {
  Tensor addend = incoming.contiguous();
  BP_DISPATCH_FLOATING(grad.dtype(), "AccumulateGrad", {
    scalar_t* g = grad.data<scalar_t>();
    kernels::map_dense<scalar_t, scalar_t, scalar_t>(grad.numel(), g, g, false, addend.data<scalar_t>(), false, 1,
                                                      [](scalar_t a, scalar_t b) { return a + b; });
  });
  grad.bump_version();
}

}  // namespace

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
    // A buffer nobody else holds becomes .grad as it is (the usual case after zero_grad() set the
    // grads to None); one that is shared with other leaves, a hook or the caller is copied.
    grad = can_take_over(grad_output, *variable_) ? std::move(grad_outputs[0]) : grad_output.clone();
  } else if (!is_grad_enabled() && can_add_in_place(grad, grad_output)) {
    add_in_place(grad, grad_output);
  } else {
    // .grad is held elsewhere too (the caller kept a reference) or this backward is recorded.
    grad = grad + grad_output;
  }
  return {};
}

}  // namespace backprop
