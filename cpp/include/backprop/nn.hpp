#pragma once
/// \file nn.hpp
/// Layers for C++ applications, with PyTorch's parameter layout, initialisation and names, so
/// that state dicts move between Python and C++ through backprop::save / backprop::load.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backprop/tensor.hpp"

namespace backprop::nn {

/// A layer: named parameters, named children, forward, train/eval mode.
class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  /// Parameters of this module and its children, in registration order.
  std::vector<Tensor> parameters() const;
  /// Parameters by dotted name ("0.weight", "0.bias" inside a Sequential).
  std::vector<std::pair<std::string, Tensor>> named_parameters(const std::string& prefix = "") const;
  /// named_parameters() as a map, for backprop::save.
  std::map<std::string, Tensor> state_dict() const;
  /// Copies values from `state`; throws on missing, unexpected (when strict) or mis-shaped keys.
  void load_state_dict(const std::map<std::string, Tensor>& state, bool strict = true);
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

/// Runs its children in order; they are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  void push_back(std::shared_ptr<Module> module);
  Tensor forward(const Tensor& x) override;
  size_t size() const { return layers_.size(); }

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

}  // namespace backprop::nn
