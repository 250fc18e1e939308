// nn::Module bookkeeping and the layers of nn.hpp.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <typeinfo>
#if defined(__GNUG__)
#include <cxxabi.h>
#endif

#include "../tensor_utils.hpp"
#include "backprop/autograd.hpp"
#include "backprop/nn.hpp"
#include "backprop/ops.hpp"

namespace backprop::nn {

namespace {

// Shapes as Python's backprop prints them (tuples), so both front ends write the same message.
std::string tuple_str(const Shape& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

std::string quoted_list(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "\"" : ", \"") + k + "\"";
  return out;
}

}  // namespace

StateDict::StateDict(std::initializer_list<value_type> items) {
  for (const auto& [k, v] : items) (*this)[k] = v;
}

StateDict::StateDict(std::vector<value_type> items) {
  for (auto& [k, v] : items) (*this)[k] = std::move(v);
}

StateDict::StateDict(const std::map<std::string, Tensor>& items) {
  for (const auto& [k, v] : items) (*this)[k] = v;
}

StateDict::operator std::map<std::string, Tensor>() const { return {items_.begin(), items_.end()}; }

Tensor& StateDict::operator[](const std::string& key) {
  auto it = index_.find(key);
  if (it != index_.end()) return items_[it->second].second;
  index_.emplace(key, items_.size());
  items_.emplace_back(key, Tensor());
  return items_.back().second;
}

const Tensor& StateDict::at(const std::string& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) throw IndexError("StateDict: no key \"" + key + "\"");
  return items_[it->second].second;
}

size_t StateDict::erase(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return 0;
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(it->second));
  index_.clear();
  for (size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
  return 1;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : items_) out.push_back(k);
  return out;
}

std::string Module::name() const {
  std::string full = typeid(*this).name();
#if defined(__GNUG__)
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(full.c_str(), nullptr, nullptr, &status),
                                                   std::free);
  if (status == 0 && demangled) full = demangled.get();
#endif
  // Drop namespaces ("backprop::nn::Linear" -> "Linear") but not those inside template arguments.
  size_t cut = full.rfind("::", full.find('<'));
  return cut == std::string::npos ? full : full.substr(cut + 2);
}

void Module::collect_modules(const std::string& prefix, std::vector<std::pair<std::string, const Module*>>& out) const {
  for (const auto& [p, m] : out)
    if (m == this) return;  // a module registered twice is visited once, under its first name
  out.emplace_back(prefix, this);
  for (const auto& [name, child] : children_) child->collect_modules(prefix.empty() ? name : prefix + "." + name, out);
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, p] : named_parameters()) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(const std::string& prefix) const {
  // A parameter shared by two layers is listed once, under its first name, as in PyTorch: an
  // optimizer given parameters() then steps it once.
  std::vector<std::pair<std::string, const Module*>> modules;
  collect_modules(prefix, modules);
  std::vector<std::pair<std::string, Tensor>> out;
  std::vector<const void*> seen;
  for (const auto& [module_prefix, m] : modules)
    for (const auto& [name, p] : m->params_) {
      if (!p.defined() || std::find(seen.begin(), seen.end(), p.impl()) != seen.end()) continue;
      seen.push_back(p.impl());
      out.emplace_back(module_prefix.empty() ? name : module_prefix + "." + name, p);
    }
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& [name, child] : children_) {
    bool seen = false;
    for (const auto& [n, c] : out) seen = seen || c == child;
    if (!seen) out.emplace_back(name, child);
  }
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [name, child] : named_children()) out.push_back(child);
  return out;
}

StateDict Module::state_dict() const {
  // Every defined parameter of every module once, unlike named_parameters(), which also drops
  // a tensor seen before under another name: this is Python's Module.state_dict.
  std::vector<std::pair<std::string, const Module*>> modules;
  collect_modules("", modules);
  StateDict out;
  for (const auto& [module_prefix, m] : modules)
    for (const auto& [name, p] : m->params_)
      if (p.defined()) out[module_prefix.empty() ? name : module_prefix + "." + name] = p.detach();
  return out;
}

IncompatibleKeys Module::load_state_dict(const StateDict& state, bool strict) {
  std::vector<std::pair<std::string, const Module*>> modules;
  collect_modules("", modules);
  std::vector<std::pair<std::string, Tensor>> own;
  for (const auto& [module_prefix, m] : modules)
    for (const auto& [name, p] : m->params_)
      if (p.defined()) own.emplace_back(module_prefix.empty() ? name : module_prefix + "." + name, p);

  IncompatibleKeys result;
  std::vector<std::string> errors;
  for (const auto& [key, p] : own) {
    if (!state.contains(key)) {
      result.missing_keys.push_back(key);
    } else if (state.at(key).shape() != p.shape()) {
      errors.push_back("size mismatch for " + key + ": copying a param with shape " + tuple_str(state.at(key).shape()) +
                       " from checkpoint, the shape in current model is " + tuple_str(p.shape()) + ".");
    }
  }
  // PyTorch's rule and order: each module, depth first, claims the keys under its prefix; a key
  // is unexpected where it names neither a child ("child.rest") nor one of the module's own entries.
  for (const auto& [module_prefix, m] : modules) {
    std::string prefix = module_prefix.empty() ? "" : module_prefix + ".";
    for (const auto& [key, value] : state) {
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      std::string rest = key.substr(prefix.size());
      size_t dot = rest.find('.');
      bool known = false;
      if (dot != std::string::npos) {
        for (const auto& [child_name, child] : m->children_) known = known || child_name == rest.substr(0, dot);
      } else {
        for (const auto& [name, p] : m->params_) known = known || (p.defined() && name == rest);
      }
      if (!known) result.unexpected_keys.push_back(key);
    }
  }
  if (strict && !result.unexpected_keys.empty())
    errors.insert(errors.begin(), "Unexpected key(s) in state_dict: " + quoted_list(result.unexpected_keys) + ".");
  if (strict && !result.missing_keys.empty())
    errors.insert(errors.begin(), "Missing key(s) in state_dict: " + quoted_list(result.missing_keys) + ".");
  if (!errors.empty()) {
    std::string message = "Error(s) in loading state_dict for " + name() + ":";
    for (const auto& e : errors) message += "\n\t" + e;
    throw RuntimeError(message);
  }
  // Checked before the first copy, so a refused load leaves the module as it was.
  for (auto& [key, p] : own)
    if (state.contains(key)) check_writable(p, "load_state_dict");
  NoGradGuard no_grad;
  for (auto& [key, p] : own) {
    if (!state.contains(key)) continue;
    Tensor target = p;
    copy_into(target, state.at(key));
    target.bump_version();
  }
  return result;
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

namespace {

// The activation a fused Linear+activation op runs for `m`, or null when `m` is not exactly one
// of them (a subclass may override forward, so it runs as itself).
const char* fusable_activation(const Module& m) {
  if (typeid(m) == typeid(ReLU)) return "relu";
  if (typeid(m) == typeid(Tanh)) return "tanh";
  if (typeid(m) == typeid(Sigmoid)) return "sigmoid";
  return nullptr;
}

}  // namespace

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const char* act = i + 1 < layers_.size() ? fusable_activation(*layers_[i + 1]) : nullptr;
    if (act && typeid(*layers_[i]) == typeid(Linear)) {
      auto& lin = static_cast<Linear&>(*layers_[i]);
      h = linear_activation(h, lin.weight, lin.bias, act);
      ++i;
      continue;
    }
    h = layers_[i]->forward(h);
  }
  return h;
}

std::shared_ptr<Module> Sequential::operator[](int64_t index) const {
  auto n = static_cast<int64_t>(layers_.size());
  if (index < -n || index >= n) throw IndexError("index " + std::to_string(index) + " is out of range");
  return layers_[static_cast<size_t>(index < 0 ? index + n : index)];
}

void Sequential::throw_wrong_type(int64_t index) const {
  throw TypeError("Sequential::at: layer " + std::to_string(index) + " is a " + (*this)[index]->name() +
                  ", not the requested type");
}

}  // namespace backprop::nn
