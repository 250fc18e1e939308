// The backward engine: dependency counts over the reachable graph, then a ready queue that runs
// the most recently created node first. Iterative throughout, so graph depth is unbounded.
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "../dispatch.hpp"
#include "../kernels/reduce.hpp"
#include "../tensor_impl.hpp"
#include "../tensor_utils.hpp"
#include "accumulate_grad.hpp"
#include "backprop/ops.hpp"

namespace backprop {
namespace {

std::shared_ptr<Node> node_of(const Tensor& t) {
  if (t.grad_fn()) return t.grad_fn();
  return grad_accumulator(t);
}

// Which output of node_of(t) the tensor is.
uint32_t slot_of(const Tensor& t) { return t.grad_fn() ? t.impl()->output_nr : 0; }

Tensor run_hooks(std::vector<GradHook>& hooks, Tensor grad) {
  for (auto& hook : hooks) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) {
      if (replaced.shape() != grad.shape())
        throw ShapeError("hook: a hook returned a gradient of shape " + shape_str(replaced.shape()) +
                         " for a gradient of shape " + shape_str(grad.shape()));
      grad = replaced;
    }
  }
  return grad;
}

std::string forward_trace_note(const Node& n) {
  if (n.forward_trace().empty())
    return "\n(no forward trace for " + n.name() + ": it was created outside anomaly mode; turn anomaly mode on "
           "before the forward pass to see where it came from)";
  return "\nThe forward call that created " + n.name() + " (recorded by anomaly mode):\n" + n.forward_trace();
}

// Anomaly mode: a NaN or infinity in a gradient that `n` returned stops backward at `n`.
void check_gradients(const Node& n, const std::vector<Tensor>& grads) {
  NoGradGuard no_grad;  // the check is never part of a recorded backward
  for (size_t i = 0; i < grads.size(); ++i) {
    const Tensor& g = grads[i];
    if (!g.defined() || !is_floating(g.dtype())) continue;
    Tensor dense = g.contiguous();
    bool nan = false, inf = false;
    BP_DISPATCH_FLOATING(dense.dtype(), "detect_anomaly",
                         { kernels::find_nonfinite(dense.data<scalar_t>(), dense.numel(), &nan, &inf); });
    if (!nan && !inf) continue;
    throw RuntimeError("Function '" + n.name() + "' returned " + (nan ? "nan" : "inf") + " values in its " +
                       std::to_string(i) + "th output (the gradient of its input " + std::to_string(i) +
                       ", shape " + shape_str(g.shape()) + ")" + forward_trace_note(n));
  }
}

// Runs n's backward; in anomaly mode an error it raises gets the node's forward trace appended.
std::vector<Tensor> apply_node(Node& n, std::vector<Tensor>&& grads) {
  if (!is_anomaly_enabled()) return n.apply(std::move(grads));
  std::vector<Tensor> out;
  try {
    out = n.apply(std::move(grads));
  } catch (const RuntimeError& e) {
    throw RuntimeError(std::string(e.what()) + "\n(raised in the backward of " + n.name() + ")" +
                       forward_trace_note(n));
  }
  if (is_anomaly_check_nan_enabled()) check_gradients(n, out);
  return out;
}

struct NodeState {
  int dependencies = 0;
  bool needed = true;
  // One gradient per output slot of the node, summed over every edge that reaches that slot.
  std::vector<Tensor> buffers;

  void accumulate(const Node& n, uint32_t slot, const Tensor& g) {
    if (buffers.empty()) buffers.resize(n.num_outputs());
    if (slot >= buffers.size())
      throw RuntimeError(n.name() + ": a gradient arrived for output " + std::to_string(slot) + " of a node with " +
                         std::to_string(buffers.size()) + " outputs");
    Tensor& b = buffers[slot];
    b = b.defined() ? b + g : g;
  }
};

struct ReadyOrder {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

struct Capture {
  uint32_t slot;     // output of the node whose gradient is the input's gradient
  size_t input;      // position in `inputs`
};

// Runs the graph below `roots`. With `capture` non-empty (autograd.grad) leaves are not touched:
// the gradients reaching the captured nodes are returned instead, and only the part of the
// graph leading to them runs.
std::vector<Tensor> run_engine(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                               bool retain_graph, bool create_graph, const std::vector<Tensor>* inputs,
                               const char* caller) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    throw ShapeError(std::string(caller) + ": got " + std::to_string(grad_outputs.size()) + " gradients for " +
                     std::to_string(outputs.size()) + " outputs");
  // Nodes run with grad mode on exactly when the backward pass is to be recorded: backward
  // formulas written in differentiable ops then record themselves.
  struct GradModeScope {
    bool prev = is_grad_enabled();
    explicit GradModeScope(bool on) { set_grad_enabled(on); }
    ~GradModeScope() { set_grad_enabled(prev); }
  } grad_mode(create_graph);
  // The recorded gradients reach back into this graph's nodes (saved outputs unpack with their
  // node as grad_fn), so a recorded backward always keeps it.
  retain_graph = retain_graph || create_graph;

  struct Root {
    std::shared_ptr<Node> node;
    uint32_t slot;
    Tensor grad;
  };
  std::vector<Root> roots;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    if (!out.requires_grad())
      throw RuntimeError(std::string(caller) + ": element " + std::to_string(i) +
                         " of tensors does not require grad and does not have a grad_fn");
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      if (out.numel() != 1)
        throw RuntimeError(std::string(caller) + ": grad can be implicitly created only for scalar outputs, but "
                           "the output has shape " + shape_str(out.shape()) +
                           "; reduce it first (for example call .sum()) or pass a gradient of that shape");
      g = ones_like(out);
    } else {
      if (g.shape() != out.shape())
        throw ShapeError(std::string(caller) + ": the gradient has shape " + shape_str(g.shape()) +
                         " but the output has shape " + shape_str(out.shape()));
      if (g.dtype() != out.dtype()) g = g.to(out.dtype());
    }
    roots.push_back(Root{node_of(out), slot_of(out), g});
  }

  // Capture targets: the (node, output) whose incoming gradient is the gradient of each input.
  std::unordered_map<Node*, std::vector<Capture>> captures;
  std::vector<std::shared_ptr<Node>> capture_nodes;
  if (inputs) {
    for (size_t i = 0; i < inputs->size(); ++i) {
      const Tensor& in = (*inputs)[i];
      if (!in.requires_grad())
        throw RuntimeError(std::string(caller) + ": input " + std::to_string(i) +
                           " does not require grad; set requires_grad=True on it");
      auto node = node_of(in);
      captures[node.get()].push_back(Capture{slot_of(in), i});
      capture_nodes.push_back(node);
    }
  }

  // Depth-first walk for dependency counts and a post-order (children before parents).
  std::unordered_map<Node*, NodeState> state;
  std::vector<Node*> post_order;
  {
    std::vector<std::pair<Node*, size_t>> stack;
    for (auto& root : roots) {
      if (state.count(root.node.get())) continue;
      state[root.node.get()];
      stack.emplace_back(root.node.get(), 0);
      while (!stack.empty()) {
        auto& [n, next] = stack.back();
        const auto& edges = n->next_edges();
        if (next < edges.size()) {
          Node* child = edges[next++].node.get();
          if (!child) continue;
          auto [it, inserted] = state.try_emplace(child);
          it->second.dependencies++;
          if (inserted) stack.emplace_back(child, 0);
        } else {
          post_order.push_back(n);
          stack.pop_back();
        }
      }
    }
  }
  if (inputs) {
    for (Node* n : post_order) {
      bool needed = captures.count(n) > 0;
      if (!needed)
        for (const auto& e : n->next_edges())
          if (e.node && state[e.node.get()].needed) needed = true;
      state[n].needed = needed;
    }
  }

  std::vector<Tensor> captured(inputs ? inputs->size() : 0);
  std::priority_queue<Node*, std::vector<Node*>, ReadyOrder> ready;
  for (auto& root : roots) state[root.node.get()].accumulate(*root.node, root.slot, root.grad);
  for (auto& root : roots) {
    NodeState& s = state[root.node.get()];
    if (s.dependencies == 0) {
      s.dependencies = -1;  // queued once, even when it is a root twice
      ready.push(root.node.get());
    }
  }

  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    NodeState& s = state[n];
    std::vector<Tensor> grads = std::move(s.buffers);
    s.buffers = {};
    bool any_defined = false;
    for (const Tensor& g : grads) any_defined = any_defined || g.defined();
    std::vector<Tensor> input_grads;
    if (any_defined && s.needed) {
      auto* acc = dynamic_cast<AccumulateGrad*>(n);
      if (acc) {
        grads[0] = run_hooks(acc->variable()->leaf_hooks, grads[0]);
      } else if (n->has_pre_hooks()) {
        for (size_t k = 0; k < grads.size(); ++k)
          if (grads[k].defined()) grads[k] = run_hooks(n->pre_hooks(static_cast<uint32_t>(k)), grads[k]);
      }
      auto found = captures.find(n);
      if (found != captures.end())
        for (const Capture& c : found->second)
          if (c.slot < grads.size()) captured[c.input] = grads[c.slot];
      if (!(inputs && acc)) {
        input_grads = apply_node(*n, std::move(grads));
        // Each node runs once per backward: its saved tensors can go now, which keeps the peak
        // memory of backward down to what is still ahead of it.
        if (!retain_graph) n->release_saved();
      }
    }
    const auto& edges = n->next_edges();
    for (size_t i = 0; i < edges.size(); ++i) {
      Node* child = edges[i].node.get();
      if (!child) continue;
      NodeState& cs = state[child];
      if (i < input_grads.size() && input_grads[i].defined()) cs.accumulate(*child, edges[i].input_nr, input_grads[i]);
      if (--cs.dependencies == 0) {
        cs.dependencies = -1;
        ready.push(child);
      }
    }
  }

  if (inputs) return captured;
  return {};
}

}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, bool retain_graph,
              bool create_graph) {
  run_engine(outputs, grad_outputs, retain_graph, create_graph, nullptr, "backward");
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool allow_unused,
                         bool create_graph) {
  std::vector<Tensor> result = run_engine(outputs, grad_outputs, retain_graph, create_graph, &inputs, "grad");
  for (size_t i = 0; i < result.size(); ++i) {
    if (!result[i].defined() && !allow_unused)
      throw RuntimeError("grad: input " + std::to_string(i) +
                         " was not used in the graph of the outputs; pass allow_unused=True to get None for it");
  }
  return result;
}

}  // namespace backprop
