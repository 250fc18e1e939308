#pragma once
/// \file autograd.hpp
/// The graph (Node, Edge), the backward engine entry points and grad-mode guards.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backprop/tensor.hpp"

namespace backprop {

class Node;

/// Where a gradient flows: the node that produced an input, and which of that node's outputs the
/// input is (`input_nr`). Null for inputs without grad.
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

/// One recorded operation with one or more outputs (split, unbind and Python Functions returning a
/// tuple have several). Subclasses compute the gradient of each input from the gradients of all
/// outputs at once; the engine buffers one gradient per output and calls apply() once.
class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Gradients for each input (undefined where an input needs none), from one gradient per output.
  /// An output no gradient reached is passed undefined; a node that wants zeros there (as
  /// PyTorch's materialize_grads) makes them itself. Called only when at least one is defined.
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) = 0;
  /// "MulBackward0"-style name shown in reprs and error messages.
  virtual std::string name() const = 0;
  /// Drops saved tensors; a later apply() raises.
  virtual void release_saved() {}

  const std::vector<Edge>& next_edges() const { return next_edges_; }
  std::vector<Edge>& mutable_next_edges() { return next_edges_; }
  /// Increasing id; the engine runs later nodes first when several are ready.
  uint64_t sequence_nr() const { return sequence_nr_; }

  /// How many outputs the node has (gradients apply() receives); 1 unless the creator says more.
  uint32_t num_outputs() const { return num_outputs_; }
  void set_num_outputs(uint32_t n) { num_outputs_ = n; }

  /// Hooks run on the incoming gradient of output `output_nr` before apply(); a hook may replace it.
  std::vector<GradHook>& pre_hooks(uint32_t output_nr = 0);
  /// Whether any output has hooks (lets the engine skip the lookup for most nodes).
  bool has_pre_hooks() const { return !pre_hooks_.empty(); }

  /// The tensors this node keeps for its backward (empty once released, and for nodes that keep
  /// none or do not say): what graph viewers show as saved sizes.
  virtual std::vector<Tensor> saved_tensors() const { return {}; }

  /// Where the forward call that made this node came from, recorded when the node was created in
  /// anomaly mode (see set_detect_anomaly); empty otherwise.
  const std::string& forward_trace() const;
  void set_forward_trace(std::string trace);
  /// Opaque data a language binding attaches to the node (Python's grad_fn.metadata dict); it is
  /// destroyed with the node.
  std::shared_ptr<void>& binding_data();

 private:
  struct Annotations {
    std::string forward_trace;
    std::shared_ptr<void> binding_data;
  };
  Annotations& annotations();

  std::vector<Edge> next_edges_;
  // Allocated only for nodes that get a trace or metadata, so plain nodes pay one null pointer.
  std::unique_ptr<Annotations> annotations_;
  // One list per output slot, grown on first use: most nodes never get a hook.
  std::vector<std::vector<GradHook>> pre_hooks_;
  uint64_t sequence_nr_;
  uint32_t num_outputs_ = 1;
};

/// The leaf tensor an AccumulateGrad node adds gradients into (PyTorch's grad_fn.variable);
/// undefined for every other node.
Tensor accumulated_variable(const Node& node);

/// Records a node written outside the library (a custom autograd function): `node` gets one edge
/// per input (to the node and output slot each input came from; none for inputs without grad) and
/// one output per entry of `outputs`. Returns, per output, an alias whose grad_fn is `node`, or an
/// undefined Tensor where the output is undefined or `differentiable[k]` is false. The node's
/// apply() then gets one gradient per output and returns one per input.
std::vector<Tensor> record_custom_node(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
                                       const std::vector<Tensor>& outputs, const std::vector<bool>& differentiable);

/// Runs backward from `outputs`, accumulating into the .grad of every leaf that requires grad.
/// With `create_graph` the backward pass is itself recorded (grad mode is on while nodes run), so
/// the gradients it produces can be differentiated again; callers usually retain the graph then.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

/// Gradients of `outputs` with respect to `inputs`, without touching any .grad. An input the
/// outputs do not depend on throws unless allow_unused, which gives an undefined Tensor. With
/// `create_graph` the returned gradients carry a graph of their own (higher-order gradients).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool allow_unused = false, bool create_graph = false);

/// Anomaly mode, off by default and process-wide as PyTorch's. When on, every node records its
/// forward trace (through the function given to set_anomaly_trace_fn) and backward checks every
/// gradient a node returns: a NaN or infinity stops it with a RuntimeError naming the node and
/// showing where its forward call came from. When off it costs one flag check per node.
bool is_anomaly_enabled();
/// Whether anomaly mode checks gradients for NaN and infinity (true unless turned off).
bool is_anomaly_check_nan_enabled();
void set_detect_anomaly(bool enabled, bool check_nan = true);
/// What a node made in anomaly mode stores as its forward trace; the Python bindings give the
/// Python stack. Without one, nodes record nothing and errors say so. Set it before turning
/// anomaly mode on: it is not synchronised with node creation.
void set_anomaly_trace_fn(std::function<std::string()> fn);

/// Turns anomaly mode on for a scope (like torch.autograd.detect_anomaly).
class DetectAnomalyGuard {
 public:
  explicit DetectAnomalyGuard(bool check_nan = true)
      : prev_(is_anomaly_enabled()), prev_check_nan_(is_anomaly_check_nan_enabled()) {
    set_detect_anomaly(true, check_nan);
  }
  ~DetectAnomalyGuard() { set_detect_anomaly(prev_, prev_check_nan_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool prev_;
  bool prev_check_nan_;
};

/// Per-thread switch for graph recording.
bool is_grad_enabled();
void set_grad_enabled(bool enabled);

/// Turns recording off for a scope (like torch.no_grad).
class NoGradGuard {
 public:
  NoGradGuard() : prev_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

/// Turns recording on for a scope (like torch.enable_grad).
class EnableGradGuard {
 public:
  EnableGradGuard() : prev_(is_grad_enabled()) { set_grad_enabled(true); }
  ~EnableGradGuard() { set_grad_enabled(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};

}  // namespace backprop
