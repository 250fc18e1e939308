#pragma once
/// \file autograd.hpp
/// The graph (Node, Edge), the backward engine entry points and grad-mode guards.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backprop/tensor.hpp"

namespace backprop {

class Node;

/// Where a gradient flows: the node that produced an input. Null for inputs without grad.
struct Edge {
  std::shared_ptr<Node> node;
  bool valid() const { return node != nullptr; }
};

/// One recorded operation with exactly one differentiable output. Subclasses compute the
/// gradient of each input from the gradient of the output.
class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Gradients for each input (undefined where an input needs none).
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  /// "MulBackward0"-style name shown in reprs and error messages.
  virtual std::string name() const = 0;
  /// Drops saved tensors; a later apply() raises.
  virtual void release_saved() {}

  const std::vector<Edge>& next_edges() const { return next_edges_; }
  std::vector<Edge>& mutable_next_edges() { return next_edges_; }
  /// Increasing id; the engine runs later nodes first when several are ready.
  uint64_t sequence_nr() const { return sequence_nr_; }

  /// Hooks run on this node's incoming gradient before apply(); a hook may replace it.
  std::vector<GradHook>& pre_hooks() { return pre_hooks_; }

 private:
  std::vector<Edge> next_edges_;
  std::vector<GradHook> pre_hooks_;
  uint64_t sequence_nr_;
};

/// Runs backward from `outputs`, accumulating into the .grad of every leaf that requires grad.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false);

/// Gradients of `outputs` with respect to `inputs`, without touching any .grad. An input the
/// outputs do not depend on throws unless allow_unused, which gives an undefined Tensor.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool allow_unused = false);

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
