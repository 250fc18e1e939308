#pragma once
/// \file optim.hpp
/// Optimizers. Each step is one fused C++ pass per parameter with PyTorch's arithmetic, so
/// the same hyperparameters give the same trajectory as torch.optim (foreach=False).
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backprop/tensor.hpp"

namespace backprop::optim {

/// Named numeric hyperparameters: "lr", "momentum", "beta1", "beta2", "eps", "weight_decay",
/// booleans as 0/1 ("nesterov", "amsgrad", "maximize", "centered"), ...
using Options = std::map<std::string, double>;

struct ParamGroup {
  std::vector<Tensor> params;
  Options options;
};

/// Per-parameter state: a step count, named buffers shaped like the parameter ("exp_avg",
/// "momentum_buffer", ...) and named scalars (NAdam's "mu_product").
struct ParamState {
  int64_t step = 0;
  std::map<std::string, Tensor> buffers;
  std::map<std::string, double> scalars;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// Updates every parameter that has a gradient; runs without recording a graph.
  void step();
  /// Clears the gradients (sets them to undefined, or fills them with zeros).
  void zero_grad(bool set_to_none = true);
  /// Adds a group; options it does not name take the optimizer's defaults.
  void add_param_group(ParamGroup group);
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const Options& defaults() const { return defaults_; }
  /// The state of `param` (empty before its first step).
  ParamState& state(const Tensor& param);
  bool has_state(const Tensor& param) const;
  /// Name used in error messages ("SGD", "Adam", ...).
  virtual const char* name() const = 0;

 protected:
  Optimizer(std::vector<ParamGroup> groups, Options defaults);
  /// The fused update of one parameter over an element range [begin, end); step() runs the
  /// ranges of all parameters in one parallel pass. Called once per parameter and step, before
  /// any range runs: state buffers are created and checked here, not in the returned function.
  using RangeUpdate = std::function<void(int64_t begin, int64_t end)>;
  virtual RangeUpdate prepare(const Tensor& param, const Tensor& grad, ParamState& state, const Options& options) = 0;

 private:
  std::vector<ParamGroup> groups_;
  Options defaults_;
  std::map<const void*, ParamState> state_;
};

/// Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, double lr, double momentum = 0.0, double dampening = 0.0,
      double weight_decay = 0.0, bool nesterov = false, bool maximize = false);
  SGD(std::vector<ParamGroup> groups, Options defaults);
  const char* name() const override { return "SGD"; }

 protected:
  RangeUpdate prepare(const Tensor& param, const Tensor& grad, ParamState& state, const Options& options) override;
};

/// Adam; with decoupled weight decay it is AdamW.
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
       double weight_decay = 0.0, bool amsgrad = false, bool maximize = false);
  Adam(std::vector<ParamGroup> groups, Options defaults);
  const char* name() const override { return decoupled_ ? "AdamW" : "Adam"; }

 protected:
  RangeUpdate prepare(const Tensor& param, const Tensor& grad, ParamState& state, const Options& options) override;
  bool decoupled_ = false;
};

/// Adam with decoupled weight decay (default 1e-2).
class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false);
  AdamW(std::vector<ParamGroup> groups, Options defaults);
};

class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> params, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
          double weight_decay = 0.0, double momentum = 0.0, bool centered = false, bool maximize = false);
  RMSprop(std::vector<ParamGroup> groups, Options defaults);
  const char* name() const override { return "RMSprop"; }

 protected:
  RangeUpdate prepare(const Tensor& param, const Tensor& grad, ParamState& state, const Options& options) override;
};

/// NAdam: Adam with Nesterov momentum whose coefficient warms up by `momentum_decay` per step
/// (torch.optim.NAdam); decoupled_weight_decay makes the decay AdamW's (NAdamW).
class NAdam : public Optimizer {
 public:
  NAdam(std::vector<Tensor> params, double lr = 2e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0.0, double momentum_decay = 4e-3, bool decoupled_weight_decay = false,
        bool maximize = false);
  NAdam(std::vector<ParamGroup> groups, Options defaults);
  const char* name() const override { return "NAdam"; }

 protected:
  RangeUpdate prepare(const Tensor& param, const Tensor& grad, ParamState& state, const Options& options) override;
};

/// RAdam: Adam whose adaptive term is switched on, rectified, once the variance estimate is
/// tractable (torch.optim.RAdam); decoupled_weight_decay makes the decay AdamW's.
class RAdam : public Optimizer {
 public:
  RAdam(std::vector<Tensor> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0.0, bool decoupled_weight_decay = false, bool maximize = false);
  RAdam(std::vector<ParamGroup> groups, Options defaults);
  const char* name() const override { return "RAdam"; }

 protected:
  RangeUpdate prepare(const Tensor& param, const Tensor& grad, ParamState& state, const Options& options) override;
};

/// Adamax: Adam with the infinity norm in place of the second moment (torch.optim.Adamax).
class Adamax : public Optimizer {
 public:
  Adamax(std::vector<Tensor> params, double lr = 2e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
         double weight_decay = 0.0, bool maximize = false);
  Adamax(std::vector<ParamGroup> groups, Options defaults);
  const char* name() const override { return "Adamax"; }

 protected:
  RangeUpdate prepare(const Tensor& param, const Tensor& grad, ParamState& state, const Options& options) override;
};

/// Adagrad: steps scaled by the root of the summed squared gradients (torch.optim.Adagrad);
/// the rate decays as lr / (1 + (step - 1) * lr_decay).
class Adagrad : public Optimizer {
 public:
  Adagrad(std::vector<Tensor> params, double lr = 1e-2, double lr_decay = 0.0, double weight_decay = 0.0,
          double initial_accumulator_value = 0.0, double eps = 1e-10, bool maximize = false);
  Adagrad(std::vector<ParamGroup> groups, Options defaults);
  const char* name() const override { return "Adagrad"; }

 protected:
  RangeUpdate prepare(const Tensor& param, const Tensor& grad, ParamState& state, const Options& options) override;
};

/// Scales gradients so that their joint `norm_type` norm is at most max_norm; returns the
/// norm before clipping. Throws RuntimeError on a non-finite norm when error_if_nonfinite.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
/// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace backprop::optim
