// nn::Module bookkeeping and the layers of nn.hpp.
#include <cmath>

#include "../tensor_utils.hpp"
#include "backprop/autograd.hpp"
#include "backprop/nn.hpp"
#include "backprop/ops.hpp"

namespace backprop::nn {

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(const std::string& prefix) const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [name, p] : params_)
    if (p.defined()) out.emplace_back(prefix.empty() ? name : prefix + "." + name, p);
  for (const auto& [name, child] : children_) {
    auto sub = child->named_parameters(prefix.empty() ? name : prefix + "." + name);
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

std::map<std::string, Tensor> Module::state_dict() const {
  std::map<std::string, Tensor> out;
  for (auto& [name, p] : named_parameters()) out.emplace(name, p.detach());
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& state, bool strict) {
  auto own = named_parameters();
  std::string missing, unexpected, mismatched;
  for (const auto& [name, p] : own) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing += (missing.empty() ? "\"" : ", \"") + name + "\"";
    } else if (it->second.shape() != p.shape()) {
      mismatched += "\n\tsize mismatch for " + name + ": copying a param with shape " + shape_str(it->second.shape()) +
                    " from checkpoint, the shape in current model is " + shape_str(p.shape()) + ".";
    }
  }
  for (const auto& [name, t] : state) {
    bool known = false;
    for (const auto& [own_name, p] : own) known = known || own_name == name;
    if (!known) unexpected += (unexpected.empty() ? "\"" : ", \"") + name + "\"";
  }
  std::string errors;
  if (strict && !unexpected.empty()) errors += "\n\tUnexpected key(s) in state_dict: " + unexpected + ".";
  if (strict && !missing.empty()) errors += "\n\tMissing key(s) in state_dict: " + missing + ".";
  errors += mismatched;
  if (!errors.empty()) throw ShapeError("Error(s) in loading state_dict:" + errors);
  // Checked before the first copy, so a refused load leaves the module as it was.
  for (auto& [name, p] : own)
    if (state.count(name)) check_writable(p, "load_state_dict");
  NoGradGuard no_grad;
  for (auto& [name, p] : own) {
    auto it = state.find(name);
    if (it != state.end()) {
      Tensor target = p;
      copy_into(target, it->second);
      target.bump_version();
    }
  }
}

void Module::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (Tensor& p : parameters()) {
    if (!p.grad().defined()) continue;
    if (set_to_none) {
      p.set_grad(Tensor());
    } else {
      Tensor g = p.grad();
      g.zero_();
    }
  }
}

void Module::train(bool mode) {
  training_ = mode;
  for (auto& [name, child] : children_) child->train(mode);
}

Tensor& Module::register_parameter(const std::string& name, Tensor value) {
  if (value.defined() && !value.requires_grad()) value.requires_grad_(true);
  params_.emplace_back(name, std::move(value));
  return params_.back().second;
}

void Module::register_module(const std::string& name, std::shared_ptr<Module> module) {
  if (!module) throw ValueError("register_module: module '" + name + "' is null");
  children_.emplace_back(name, std::move(module));
}

Linear::Linear(int64_t in_features, int64_t out_features, bool with_bias, DType dtype) {
  if (in_features < 0 || out_features < 0)
    throw ShapeError("Linear: feature counts must be non-negative, got in_features=" + std::to_string(in_features) +
                     ", out_features=" + std::to_string(out_features));
  // PyTorch's default: kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and so is the bias.
  double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
  Tensor w = empty({out_features, in_features}, dtype);
  fill_uniform(w, -bound, bound);
  weight = register_parameter("weight", w);
  if (with_bias) {
    Tensor b = empty({out_features}, dtype);
    fill_uniform(b, -bound, bound);
    bias = register_parameter("bias", b);
  }
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }
Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> module) {
  register_module(std::to_string(layers_.size()), module);
  layers_.push_back(std::move(module));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (auto& layer : layers_) h = layer->forward(h);
  return h;
}

}  // namespace backprop::nn
