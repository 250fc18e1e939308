// The Optimizer base (groups, state, zero_grad) and SGD, Adam/AdamW and RMSprop on top of the
// fused kernels.
#include <algorithm>
#include <cmath>

#include "../dispatch.hpp"
#include "../kernels/optim.hpp"
#include "../kernels/parallel.hpp"
#include "../tensor_impl.hpp"
#include "../tensor_utils.hpp"
#include "optim_util.hpp"
#include "backprop/autograd.hpp"
#include "backprop/optim.hpp"

namespace backprop::optim {
using detail::buffer;
using detail::check_buffer;
using detail::check_nonnegative;
using detail::option;
using detail::with_defaults;

namespace {

const Options kSgdDefaults{{"lr", 1e-3}, {"momentum", 0.0}, {"dampening", 0.0}, {"weight_decay", 0.0}, {"nesterov", 0.0},
                           {"maximize", 0.0}};
const Options kAdamDefaults{{"lr", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", 0.0},
                            {"amsgrad", 0.0}, {"maximize", 0.0}};
const Options kRmspropDefaults{{"lr", 1e-2}, {"alpha", 0.99}, {"eps", 1e-8}, {"weight_decay", 0.0},
                               {"momentum", 0.0}, {"centered", 0.0}, {"maximize", 0.0}};

}  // namespace

Optimizer::Optimizer(std::vector<ParamGroup> groups, Options defaults) : defaults_(std::move(defaults)) {
  size_t count = 0;
  for (const auto& g : groups) count += g.params.size();
  if (count == 0) throw ValueError("optimizer got an empty parameter list");
  for (auto& g : groups) add_param_group(std::move(g));
}

void Optimizer::add_param_group(ParamGroup group) {
  for (const auto& [key, value] : defaults_) group.options.emplace(key, value);
  // Only the optimizers that have a key carry it, so one list serves them all.
  for (const char* key : {"lr", "eps", "weight_decay", "momentum", "alpha", "lr_decay", "initial_accumulator_value",
                          "momentum_decay"})
    check_nonnegative(group.options, key, "optimizer");
  for (const Tensor& p : group.params) {
    if (!p.defined()) throw ValueError("optimizer: a parameter is undefined");
    if (!is_floating(p.dtype()))
      throw TypeError(std::string("optimizer can only optimize floating tensors, got ") + dtype_name(p.dtype()));
    if (!p.is_leaf()) throw ValueError("optimizer: can't optimize a non-leaf Tensor");
    for (const auto& g : groups_)
      for (const Tensor& q : g.params)
        if (q.impl() == p.impl()) throw ValueError("optimizer: some parameters appear in more than one parameter group");
  }
  groups_.push_back(std::move(group));
}

ParamState& Optimizer::state(const Tensor& param) { return state_[param.impl()]; }
bool Optimizer::has_state(const Tensor& param) const { return state_.count(param.impl()) > 0; }

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (auto& g : groups_)
    for (const Tensor& p : g.params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      if (set_to_none)
        p.set_grad(Tensor());
      else
        grad.zero_();
    }
}

void Optimizer::step() {
  NoGradGuard no_grad;
  struct Work {
    Tensor param, grad;
    ParamState* state;
    const Options* options;
  };
  // Every check comes before the first change, so a refused step leaves parameters and state
  // as they were.
  std::vector<Work> work;
  for (auto& g : groups_)
    for (const Tensor& p : g.params) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      if (!p.is_contiguous())
        throw RuntimeError(std::string(name()) + ": parameters must be contiguous; got strides " + shape_str(p.strides()));
      if (grad.shape() != p.shape() || grad.dtype() != p.dtype())
        throw RuntimeError(std::string(name()) + ": a parameter of shape " + shape_str(p.shape()) + " and dtype " +
                           dtype_name(p.dtype()) + " has a gradient of shape " + shape_str(grad.shape()) +
                           " and dtype " + dtype_name(grad.dtype()) + "; set .grad to a tensor like the parameter");
      check_writable(p, name());
      ParamState& s = state_[p.impl()];
      for (const auto& [key, buffer] : s.buffers) check_buffer(buffer, key.c_str(), p, name());
      work.push_back(Work{p, grad.contiguous(), &s, &g.options});
    }
  // One parallel pass over the elements of all parameters: a parallel region per small tensor
  // would cost more in waking threads than the update itself.
  std::vector<RangeUpdate> updates;
  std::vector<int64_t> starts{0};
  updates.reserve(work.size());
  for (Work& w : work) {
    w.state->step += 1;
    updates.push_back(prepare(w.param, w.grad, *w.state, *w.options));
    starts.push_back(starts.back() + w.param.numel());
  }
  kernels::parallel_for(starts.back(), 4, [&](int64_t begin, int64_t end) {
    size_t k = static_cast<size_t>(std::upper_bound(starts.begin(), starts.end(), begin) - starts.begin()) - 1;
    for (; k < updates.size() && starts[k] < end; ++k) {
      int64_t lo = std::max(begin, starts[k]) - starts[k], hi = std::min(end, starts[k + 1]) - starts[k];
      if (lo < hi) updates[k](lo, hi);
    }
  });
  for (Work& w : work) w.param.bump_version();
}

// ---- SGD -------------------------------------------------------------------------------------

SGD::SGD(std::vector<Tensor> params, double lr, double momentum, double dampening, double weight_decay, bool nesterov,
         bool maximize)
    : SGD(std::vector<ParamGroup>{ParamGroup{std::move(params), {}}},
          Options{{"lr", lr}, {"momentum", momentum}, {"dampening", dampening}, {"weight_decay", weight_decay},
                  {"nesterov", nesterov ? 1.0 : 0.0}, {"maximize", maximize ? 1.0 : 0.0}}) {}

SGD::SGD(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer(std::move(groups), with_defaults(std::move(defaults), kSgdDefaults)) {
  for (auto& g : param_groups())
    if (g.options["nesterov"] != 0 && (g.options["momentum"] <= 0 || g.options["dampening"] != 0))
      throw ValueError("SGD: Nesterov momentum requires a momentum and zero dampening");
}

Optimizer::RangeUpdate SGD::prepare(const Tensor& param, const Tensor& grad, ParamState& s, const Options& o) {
  double momentum = option(o, "momentum");
  RangeUpdate run;
  BP_DISPATCH_FLOATING(param.dtype(), "SGD", {
    kernels::SgdArgs<scalar_t> a{static_cast<scalar_t>(option(o, "lr")), static_cast<scalar_t>(momentum),
                                 static_cast<scalar_t>(option(o, "dampening")),
                                 static_cast<scalar_t>(option(o, "weight_decay")), option(o, "nesterov") != 0,
                                 option(o, "maximize") != 0, false};
    Tensor buf;
    if (momentum != 0) {
      a.first_step = s.buffers.count("momentum_buffer") == 0;
      buf = buffer(s, "momentum_buffer", param, name());
    }
    run = [param, grad, buf, a](int64_t b, int64_t e) {
      kernels::sgd_update<scalar_t>(param.data<scalar_t>(), grad.data<scalar_t>(),
                                    buf.defined() ? buf.data<scalar_t>() : nullptr, b, e, a);
    };
  });
  return run;
}

// ---- Adam, AdamW -------------------------------------------------------------------------------

Adam::Adam(std::vector<Tensor> params, double lr, double beta1, double beta2, double eps, double weight_decay,
           bool amsgrad, bool maximize)
    : Adam(std::vector<ParamGroup>{ParamGroup{std::move(params), {}}},
           Options{{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps}, {"weight_decay", weight_decay},
                   {"amsgrad", amsgrad ? 1.0 : 0.0}, {"maximize", maximize ? 1.0 : 0.0}}) {}

Adam::Adam(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer(std::move(groups), with_defaults(std::move(defaults), kAdamDefaults)) {
  detail::check_betas(param_groups(), "Adam");
}

Optimizer::RangeUpdate Adam::prepare(const Tensor& param, const Tensor& grad, ParamState& s, const Options& o) {
  double lr = option(o, "lr"), beta1 = option(o, "beta1"), beta2 = option(o, "beta2");
  double wd = option(o, "weight_decay");
  double step = static_cast<double>(s.step);
  double bias_correction1 = 1 - std::pow(beta1, step);
  double bias_correction2 = 1 - std::pow(beta2, step);
  bool amsgrad = option(o, "amsgrad") != 0;
  RangeUpdate run;
  BP_DISPATCH_FLOATING(param.dtype(), name(), {
    kernels::AdamArgs<scalar_t> a{static_cast<scalar_t>(lr),
                                  static_cast<scalar_t>(beta1),
                                  static_cast<scalar_t>(beta2),
                                  static_cast<scalar_t>(option(o, "eps")),
                                  static_cast<scalar_t>(wd),
                                  static_cast<scalar_t>(lr / bias_correction1),
                                  static_cast<scalar_t>(std::sqrt(bias_correction2)),
                                  static_cast<scalar_t>(1 - lr * wd),
                                  amsgrad,
                                  option(o, "maximize") != 0,
                                  decoupled_};
    Tensor m = buffer(s, "exp_avg", param, name()), v = buffer(s, "exp_avg_sq", param, name());
    Tensor vmax = amsgrad ? buffer(s, "max_exp_avg_sq", param, name()) : Tensor();
    run = [param, grad, m, v, vmax, a](int64_t b, int64_t e) {
      kernels::adam_update<scalar_t>(param.data<scalar_t>(), grad.data<scalar_t>(), m.data<scalar_t>(),
                                     v.data<scalar_t>(), vmax.defined() ? vmax.data<scalar_t>() : nullptr, b, e, a);
    };
  });
  return run;
}

AdamW::AdamW(std::vector<Tensor> params, double lr, double beta1, double beta2, double eps, double weight_decay,
             bool amsgrad, bool maximize)
    : AdamW(std::vector<ParamGroup>{ParamGroup{std::move(params), {}}},
            Options{{"lr", lr}, {"beta1", beta1}, {"beta2", beta2}, {"eps", eps}, {"weight_decay", weight_decay},
                    {"amsgrad", amsgrad ? 1.0 : 0.0}, {"maximize", maximize ? 1.0 : 0.0}}) {}

AdamW::AdamW(std::vector<ParamGroup> groups, Options defaults)
    : Adam(std::move(groups), with_defaults(std::move(defaults), {{"weight_decay", 1e-2}})) {
  decoupled_ = true;
}

// ---- RMSprop -----------------------------------------------------------------------------------

RMSprop::RMSprop(std::vector<Tensor> params, double lr, double alpha, double eps, double weight_decay, double momentum,
                 bool centered, bool maximize)
    : RMSprop(std::vector<ParamGroup>{ParamGroup{std::move(params), {}}},
              Options{{"lr", lr}, {"alpha", alpha}, {"eps", eps}, {"weight_decay", weight_decay},
                      {"momentum", momentum}, {"centered", centered ? 1.0 : 0.0}, {"maximize", maximize ? 1.0 : 0.0}}) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer(std::move(groups), with_defaults(std::move(defaults), kRmspropDefaults)) {}

Optimizer::RangeUpdate RMSprop::prepare(const Tensor& param, const Tensor& grad, ParamState& s, const Options& o) {
  double momentum = option(o, "momentum");
  bool centered = option(o, "centered") != 0;
  RangeUpdate run;
  BP_DISPATCH_FLOATING(param.dtype(), "RMSprop", {
    kernels::RmspropArgs<scalar_t> a{static_cast<scalar_t>(option(o, "lr")), static_cast<scalar_t>(option(o, "alpha")),
                                     static_cast<scalar_t>(option(o, "eps")),
                                     static_cast<scalar_t>(option(o, "weight_decay")), static_cast<scalar_t>(momentum),
                                     centered, option(o, "maximize") != 0};
    Tensor sq = buffer(s, "square_avg", param, name());
    Tensor ga = centered ? buffer(s, "grad_avg", param, name()) : Tensor();
    Tensor buf = momentum > 0 ? buffer(s, "momentum_buffer", param, name()) : Tensor();
    run = [param, grad, sq, ga, buf, a](int64_t b, int64_t e) {
      kernels::rmsprop_update<scalar_t>(param.data<scalar_t>(), grad.data<scalar_t>(), sq.data<scalar_t>(),
                                        ga.defined() ? ga.data<scalar_t>() : nullptr,
                                        buf.defined() ? buf.data<scalar_t>() : nullptr, b, e, a);
    };
  });
  return run;
}

}  // namespace backprop::optim
