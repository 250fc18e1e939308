#pragma once
/// \file nn.hpp
/// Layers for C++ applications, with PyTorch's parameter layout, initialisation and names, so
/// that state dicts move between Python and C++ through backprop::save / backprop::load.
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "backprop/tensor.hpp"

namespace backprop::nn {

/// Named tensors in insertion order, like PyTorch's OrderedDict state dicts. It converts to and
/// from std::map, so backprop::save(module.state_dict(), path) and
/// module.load_state_dict(backprop::load(path)) work as they read.
class StateDict {
 public:
  using value_type = std::pair<std::string, Tensor>;
  using const_iterator = std::vector<value_type>::const_iterator;

  StateDict() = default;
  StateDict(std::initializer_list<value_type> items);
  explicit StateDict(std::vector<value_type> items);
  /// Keys in the map's (sorted) order.
  StateDict(const std::map<std::string, Tensor>& items);  // NOLINT(google-explicit-constructor)
  operator std::map<std::string, Tensor>() const;         // NOLINT(google-explicit-constructor)

  /// The tensor under `key`, inserted at the end when absent (as std::map's operator[]).
  Tensor& operator[](const std::string& key);
  /// Throws IndexError when `key` is absent.
  const Tensor& at(const std::string& key) const;
  size_t count(const std::string& key) const { return index_.count(key); }
  bool contains(const std::string& key) const { return count(key) != 0; }
  /// Removes `key`, keeping the order of the others; returns how many were removed (0 or 1).
  size_t erase(const std::string& key);
  std::vector<std::string> keys() const;
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }

 private:
  std::vector<value_type> items_;
  std::unordered_map<std::string, size_t> index_;
};

/// What load_state_dict found: keys the module has and the state lacks, and the reverse.
struct IncompatibleKeys {
  std::vector<std::string> missing_keys;
  std::vector<std::string> unexpected_keys;
};

/// A layer: named parameters, named children, forward, train/eval mode. Its bookkeeping follows
/// Python's backprop.nn.Module (and so PyTorch's): the same names, order and errors.
class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  /// Parameters of this module and its children, in registration order.
  std::vector<Tensor> parameters() const;
  /// Parameters by dotted name ("0.weight", "0.bias" inside a Sequential).
  std::vector<std::pair<std::string, Tensor>> named_parameters(const std::string& prefix = "") const;
  /// Direct children in registration order ("0", "1", ... inside a Sequential).
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  std::vector<std::shared_ptr<Module>> children() const;
  /// Detached parameters by dotted name, in registration order (PyTorch's key order).
  StateDict state_dict() const;
  /// Copies values from `state`. Throws RuntimeError, with PyTorch's message ("Error(s) in loading
  /// state_dict for Sequential: ...": missing keys, then unexpected ones, then size mismatches),
  /// when keys are missing or unexpected (strict only) or shapes differ (always); a refused load
  /// changes nothing. Unexpected keys are listed in the order PyTorch finds them.
  IncompatibleKeys load_state_dict(const StateDict& state, bool strict = true);
  /// The class name without namespaces ("Linear", "Sequential"), as Python's type(m).__name__.
  virtual std::string name() const;
  void zero_grad(bool set_to_none = true);
  void train(bool mode = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

 protected:
  Tensor& register_parameter(const std::string& name, Tensor value);
  void register_module(const std::string& name, std::shared_ptr<Module> module);

 private:
  std::vector<std::pair<std::string, Tensor>> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;

  // (dotted prefix, module) for this module and its descendants, each module once, depth first.
  void collect_modules(const std::string& prefix, std::vector<std::pair<std::string, const Module*>>& out) const;
};

/// y = x W^T + b with W of shape (out, in), initialised like torch.nn.Linear.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true, DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) override;
  Tensor weight, bias;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
};
class Tanh : public Module {
 public:
  Tensor forward(const Tensor& x) override;
};
class Sigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
};

/// The activations of torch.nn beyond ReLU/Tanh/Sigmoid, with PyTorch's arguments. Those that
/// take `inplace` write their result into the input tensor when it is set (see relu_ in ops.hpp).
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01, bool inplace = false) : negative_slope(negative_slope), inplace(inplace) {}
  Tensor forward(const Tensor& x) override;
  double negative_slope;
  bool inplace;
};
class Hardtanh : public Module {
 public:
  /// Throws ValueError unless max_val > min_val.
  explicit Hardtanh(double min_val = -1.0, double max_val = 1.0, bool inplace = false);
  Tensor forward(const Tensor& x) override;
  double min_val, max_val;
  bool inplace;
};
class ReLU6 : public Hardtanh {
 public:
  explicit ReLU6(bool inplace = false) : Hardtanh(0.0, 6.0, inplace) {}
};
class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0, bool inplace = false) : alpha(alpha), inplace(inplace) {}
  Tensor forward(const Tensor& x) override;
  double alpha;
  bool inplace;
};
class CELU : public Module {
 public:
  explicit CELU(double alpha = 1.0, bool inplace = false) : alpha(alpha), inplace(inplace) {}
  Tensor forward(const Tensor& x) override;
  double alpha;
  bool inplace;
};
/// An activation without parameters other than PyTorch's inplace flag.
#define BACKPROP_INPLACE_ACTIVATION(Name)                    \
  class Name : public Module {                               \
   public:                                                   \
    explicit Name(bool inplace = false) : inplace(inplace) {} \
    Tensor forward(const Tensor& x) override;                \
    bool inplace;                                            \
  };
BACKPROP_INPLACE_ACTIVATION(SELU)
BACKPROP_INPLACE_ACTIVATION(SiLU)
BACKPROP_INPLACE_ACTIVATION(Mish)
BACKPROP_INPLACE_ACTIVATION(Hardswish)
BACKPROP_INPLACE_ACTIVATION(Hardsigmoid)
#undef BACKPROP_INPLACE_ACTIVATION
class Softsign : public Module {
 public:
  Tensor forward(const Tensor& x) override;
};
class Tanhshrink : public Module {
 public:
  Tensor forward(const Tensor& x) override;
};
class LogSigmoid : public Module {
 public:
  Tensor forward(const Tensor& x) override;
};
/// a * sigmoid(b) of the two halves of the input along `dim`.
class GLU : public Module {
 public:
  explicit GLU(int64_t dim = -1) : dim(dim) {}
  Tensor forward(const Tensor& x) override;
  int64_t dim;
};
/// prelu with a learnable slope: `num_parameters` is 1 (shared) or the channel count (dim 1),
/// each slope starting at `init`. The parameter is named "weight", as in PyTorch.
class PReLU : public Module {
 public:
  explicit PReLU(int64_t num_parameters = 1, double init = 0.25, DType dtype = DType::Float32);
  Tensor forward(const Tensor& x) override;
  Tensor weight;
};

/// Runs its children in order; they are named "0", "1", ... A Linear directly followed by a
/// ReLU, Tanh or Sigmoid runs as one fused op (linear_activation), as Python's Sequential does:
/// the same values, one pass less over memory.
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  void push_back(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return layers_.size(); }
  /// The layer at `index`; negative counts from the end. Throws IndexError when out of range.
  std::shared_ptr<Module> operator[](int64_t index) const;
  /// The layer at `index` as an M (net.at<nn::Linear>(0).weight); throws TypeError when it is not one.
  template <class M>
  M& at(int64_t index) const {
    auto* m = dynamic_cast<M*>((*this)[index].get());
    if (!m) throw_wrong_type(index);
    return *m;
  }

 private:
  std::vector<std::shared_ptr<Module>> layers_;
  [[noreturn]] void throw_wrong_type(int64_t index) const;
};

}  // namespace backprop::nn
