// NAdam, RAdam, Adamax and Adagrad on top of their fused kernels. Each prepare() computes the
// step's scalars in double, as PyTorch does in Python floats, and hands them to the kernel.
#include <cmath>

#include "../dispatch.hpp"
#include "../kernels/optim_adaptive.hpp"
#include "backprop/optim.hpp"
#include "optim_util.hpp"

namespace backprop::optim {
using detail::buffer;
using detail::option;
using detail::with_defaults;

namespace {

const Options kNadamDefaults{{"lr", 2e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", 0.0},
                             {"momentum_decay", 4e-3}, {"decoupled_weight_decay", 0.0}, {"maximize", 0.0}};
const Options kRadamDefaults{{"lr", 1e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", 0.0},
                             {"decoupled_weight_decay", 0.0}, {"maximize", 0.0}};
const Options kAdamaxDefaults{{"lr", 2e-3}, {"beta1", 0.9}, {"beta2", 0.999}, {"eps", 1e-8}, {"weight_decay", 0.0},
                              {"maximize", 0.0}};
const Options kAdagradDefaults{{"lr", 1e-2}, {"lr_decay", 0.0}, {"weight_decay", 0.0},
                               {"initial_accumulator_value", 0.0}, {"eps", 1e-10}, {"maximize", 0.0}};

std::vector<ParamGroup> single_group(std::vector<Tensor> params) {
  return std::vector<ParamGroup>{ParamGroup{std::move(params), {}}};
}

}  // namespace

// ---- NAdam -------------------------------------------------------------------------------------

NAdam::NAdam(std::vector<Tensor> params, double lr, double beta1, double beta2, double eps, double weight_decay,
             double momentum_decay, bool decoupled_weight_decay, bool maximize)
    : NAdam(single_group(std::move(params)),
            Options{{"lr", lr},
                    {"beta1", beta1},
                    {"beta2", beta2},
                    {"eps", eps},
                    {"weight_decay", weight_decay},
                    {"momentum_decay", momentum_decay},
                    {"decoupled_weight_decay", decoupled_weight_decay ? 1.0 : 0.0},
                    {"maximize", maximize ? 1.0 : 0.0}}) {}

NAdam::NAdam(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer(std::move(groups), with_defaults(std::move(defaults), kNadamDefaults)) {
  detail::check_betas(param_groups(), "NAdam");
}

Optimizer::RangeUpdate NAdam::prepare(const Tensor& param, const Tensor& grad, ParamState& s, const Options& o) {
  double lr = option(o, "lr"), beta1 = option(o, "beta1"), beta2 = option(o, "beta2");
  double wd = option(o, "weight_decay"), momentum_decay = option(o, "momentum_decay");
  double step = static_cast<double>(s.step);
  // The momentum coefficient mu_t warms up towards beta1; the update needs the product of all
  // mu so far, kept as state because the hyperparameters may change between steps.
  double mu = beta1 * (1.0 - 0.5 * std::pow(0.96, step * momentum_decay));
  double mu_next = beta1 * (1.0 - 0.5 * std::pow(0.96, (step + 1) * momentum_decay));
  auto found = s.scalars.find("mu_product");
  double mu_product = (found == s.scalars.end() ? 1.0 : found->second) * mu;
  s.scalars["mu_product"] = mu_product;
  double mu_product_next = mu_product * mu_next;
  RangeUpdate run;
  BP_DISPATCH_FLOATING(param.dtype(), "NAdam", {
    kernels::NadamArgs<scalar_t> a{static_cast<scalar_t>(beta1),
                                   static_cast<scalar_t>(beta2),
                                   static_cast<scalar_t>(option(o, "eps")),
                                   static_cast<scalar_t>(wd),
                                   static_cast<scalar_t>(1 - lr * wd),
                                   static_cast<scalar_t>(1 - std::pow(beta2, step)),
                                   static_cast<scalar_t>(-lr * (1.0 - mu) / (1.0 - mu_product)),
                                   static_cast<scalar_t>(-lr * mu_next / (1.0 - mu_product_next)),
                                   option(o, "maximize") != 0,
                                   option(o, "decoupled_weight_decay") != 0};
    Tensor m = buffer(s, "exp_avg", param, name()), v = buffer(s, "exp_avg_sq", param, name());
    run = [param, grad, m, v, a](int64_t b, int64_t e) {
      kernels::nadam_update<scalar_t>(param.data<scalar_t>(), grad.data<scalar_t>(), m.data<scalar_t>(),
                                      v.data<scalar_t>(), b, e, a);
    };
  });
  return run;
}

// ---- RAdam -------------------------------------------------------------------------------------

RAdam::RAdam(std::vector<Tensor> params, double lr, double beta1, double beta2, double eps, double weight_decay,
             bool decoupled_weight_decay, bool maximize)
    : RAdam(single_group(std::move(params)),
            Options{{"lr", lr},
                    {"beta1", beta1},
                    {"beta2", beta2},
                    {"eps", eps},
                    {"weight_decay", weight_decay},
                    {"decoupled_weight_decay", decoupled_weight_decay ? 1.0 : 0.0},
                    {"maximize", maximize ? 1.0 : 0.0}}) {}

RAdam::RAdam(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer(std::move(groups), with_defaults(std::move(defaults), kRadamDefaults)) {
  detail::check_betas(param_groups(), "RAdam");
}

Optimizer::RangeUpdate RAdam::prepare(const Tensor& param, const Tensor& grad, ParamState& s, const Options& o) {
  double lr = option(o, "lr"), beta1 = option(o, "beta1"), beta2 = option(o, "beta2");
  double wd = option(o, "weight_decay");
  double step = static_cast<double>(s.step);
  double bias_correction1 = 1 - std::pow(beta1, step);
  double bias_correction2 = 1 - std::pow(beta2, step);
  // rho is the length of the approximated simple moving average; below 5 the adaptive term's
  // variance is intractable and the step is plain momentum.
  double rho_inf = 2 / (1 - beta2) - 1;
  double rho_t = rho_inf - 2 * step * std::pow(beta2, step) / bias_correction2;
  bool rectified = rho_t > 5.0;
  double rect = rectified ? std::pow((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t), 0.5)
                          : 0.0;
  RangeUpdate run;
  BP_DISPATCH_FLOATING(param.dtype(), "RAdam", {
    kernels::RadamArgs<scalar_t> a{static_cast<scalar_t>(lr),
                                   static_cast<scalar_t>(beta1),
                                   static_cast<scalar_t>(beta2),
                                   static_cast<scalar_t>(option(o, "eps")),
                                   static_cast<scalar_t>(wd),
                                   static_cast<scalar_t>(1 - lr * wd),
                                   static_cast<scalar_t>(bias_correction1),
                                   static_cast<scalar_t>(std::pow(bias_correction2, 0.5)),
                                   static_cast<scalar_t>(rect),
                                   rectified,
                                   option(o, "maximize") != 0,
                                   option(o, "decoupled_weight_decay") != 0};
    Tensor m = buffer(s, "exp_avg", param, name()), v = buffer(s, "exp_avg_sq", param, name());
    run = [param, grad, m, v, a](int64_t b, int64_t e) {
      kernels::radam_update<scalar_t>(param.data<scalar_t>(), grad.data<scalar_t>(), m.data<scalar_t>(),
                                      v.data<scalar_t>(), b, e, a);
    };
  });
  return run;
}

// ---- Adamax ------------------------------------------------------------------------------------

Adamax::Adamax(std::vector<Tensor> params, double lr, double beta1, double beta2, double eps, double weight_decay,
               bool maximize)
    : Adamax(single_group(std::move(params)),
             Options{{"lr", lr},
                     {"beta1", beta1},
                     {"beta2", beta2},
                     {"eps", eps},
                     {"weight_decay", weight_decay},
                     {"maximize", maximize ? 1.0 : 0.0}}) {}

Adamax::Adamax(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer(std::move(groups), with_defaults(std::move(defaults), kAdamaxDefaults)) {
  detail::check_betas(param_groups(), "Adamax");
}

Optimizer::RangeUpdate Adamax::prepare(const Tensor& param, const Tensor& grad, ParamState& s, const Options& o) {
  double lr = option(o, "lr"), beta1 = option(o, "beta1");
  double step = static_cast<double>(s.step);
  RangeUpdate run;
  BP_DISPATCH_FLOATING(param.dtype(), "Adamax", {
    kernels::AdamaxArgs<scalar_t> a{static_cast<scalar_t>(beta1),
                                    static_cast<scalar_t>(option(o, "beta2")),
                                    static_cast<scalar_t>(option(o, "eps")),
                                    static_cast<scalar_t>(option(o, "weight_decay")),
                                    static_cast<scalar_t>(lr / (1 - std::pow(beta1, step))),
                                    option(o, "maximize") != 0};
    Tensor m = buffer(s, "exp_avg", param, name()), u = buffer(s, "exp_inf", param, name());
    run = [param, grad, m, u, a](int64_t b, int64_t e) {
      kernels::adamax_update<scalar_t>(param.data<scalar_t>(), grad.data<scalar_t>(), m.data<scalar_t>(),
                                       u.data<scalar_t>(), b, e, a);
    };
  });
  return run;
}

// ---- Adagrad -----------------------------------------------------------------------------------

Adagrad::Adagrad(std::vector<Tensor> params, double lr, double lr_decay, double weight_decay,
                 double initial_accumulator_value, double eps, bool maximize)
    : Adagrad(single_group(std::move(params)),
              Options{{"lr", lr},
                      {"lr_decay", lr_decay},
                      {"weight_decay", weight_decay},
                      {"initial_accumulator_value", initial_accumulator_value},
                      {"eps", eps},
                      {"maximize", maximize ? 1.0 : 0.0}}) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, Options defaults)
    : Optimizer(std::move(groups), with_defaults(std::move(defaults), kAdagradDefaults)) {}

Optimizer::RangeUpdate Adagrad::prepare(const Tensor& param, const Tensor& grad, ParamState& s, const Options& o) {
  double step = static_cast<double>(s.step);
  double clr = option(o, "lr") / (1 + (step - 1) * option(o, "lr_decay"));
  RangeUpdate run;
  BP_DISPATCH_FLOATING(param.dtype(), "Adagrad", {
    kernels::AdagradArgs<scalar_t> a{static_cast<scalar_t>(option(o, "eps")),
                                     static_cast<scalar_t>(option(o, "weight_decay")), static_cast<scalar_t>(clr),
                                     option(o, "maximize") != 0};
    Tensor sum = buffer(s, "sum", param, name(), option(o, "initial_accumulator_value"));
    run = [param, grad, sum, a](int64_t b, int64_t e) {
      kernels::adagrad_update<scalar_t>(param.data<scalar_t>(), grad.data<scalar_t>(), sum.data<scalar_t>(), b, e, a);
    };
  });
  return run;
}

}  // namespace backprop::optim
