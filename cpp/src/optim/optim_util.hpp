#pragma once
// Helpers the optimizers share: reading a group's options and creating or checking the state
// buffers of a parameter before its fused update reads them.
#include <string>
#include <vector>

#include "backprop/errors.hpp"
#include "backprop/optim.hpp"

namespace backprop::optim::detail {

inline double option(const Options& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end()) throw RuntimeError(std::string("optimizer: missing hyperparameter '") + key + "'");
  return it->second;
}

inline void check_nonnegative(const Options& o, const char* key, const char* opt) {
  auto it = o.find(key);
  if (it != o.end() && !(it->second >= 0.0))
    throw ValueError(std::string(opt) + ": invalid " + key + " value: " + std::to_string(it->second));
}

// Betas are checked per group: a group may name its own.
inline void check_betas(std::vector<ParamGroup>& groups, const char* opt) {
  for (auto& g : groups)
    for (const char* key : {"beta1", "beta2"}) {
      double b = g.options[key];
      if (!(b >= 0.0 && b < 1.0))
        throw ValueError(std::string(opt) + ": invalid beta parameter at index " + (key[4] == '1' ? "0" : "1") + ": " +
                         std::to_string(b));
    }
}

// A fused update walks the parameter's numel over every buffer, so a buffer left from before
// `.data` was replaced (another size or dtype) must stop the step rather than be read past its end.
inline void check_buffer(const Tensor& b, const char* name, const Tensor& param, const char* opt) {
  if (b.shape() != param.shape() || b.dtype() != param.dtype())
    throw RuntimeError(std::string(opt) + ": the state '" + name + "' has shape " + shape_str(b.shape()) + " and dtype " +
                       dtype_name(b.dtype()) + " but its parameter now has shape " + shape_str(param.shape()) +
                       " and dtype " + dtype_name(param.dtype()) +
                       "; the parameter's .data was replaced after a step: create a new optimizer for it");
  if (!b.is_contiguous()) throw RuntimeError(std::string(opt) + ": the state '" + name + "' is not contiguous");
}

// The state buffer `name`, created filled with `initial` (zeros unless said) like `param` on first use.
inline Tensor& buffer(ParamState& s, const char* name, const Tensor& param, const char* opt, double initial = 0.0) {
  auto it = s.buffers.find(name);
  if (it == s.buffers.end()) return s.buffers.emplace(name, full(param.shape(), initial, param.dtype())).first->second;
  check_buffer(it->second, name, param, opt);
  return it->second;
}

// `given` over the optimizer's own defaults: a caller names only what it changes (lr at least).
inline Options with_defaults(Options given, const Options& standard) {
  for (const auto& [key, value] : standard) given.emplace(key, value);
  return given;
}

}  // namespace backprop::optim::detail
