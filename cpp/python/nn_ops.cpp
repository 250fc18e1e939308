// The activations and losses of torch.nn.functional beyond the core set (exposed through
// backprop.nn.functional), and the in-place activations behind inplace=True.
#include "bindings.hpp"

namespace backprop::python {
namespace {

Tensor opt(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }

// An in-place function hands back the very object it was given, as PyTorch's do (a Parameter
// stays a Parameter, `y is x` holds).
template <class... Args, class F>
auto inplace(F f) {
  return [f](py::object self_obj, Args... args) {
    Tensor& self = self_obj.cast<Tensor&>();
    release_gil_if(self.numel() * 4, [&] { return &f(self, args...); });
    return self_obj;
  };
}

}  // namespace

void bind_nn_ops(py::module_& m, py::class_<Tensor>& cls) {
  auto unary = [&](const char* name, Tensor (*f)(const Tensor&)) {
    m.def(name, [f](const Tensor& x) { return release_gil_if(x.numel() * 4, [&] { return f(x); }); },
          py::arg("input"));
  };
  unary("relu6", &relu6);
  unary("selu", &selu);
  unary("silu", &silu);
  unary("mish", &mish);
  unary("hardswish", &hardswish);
  unary("hardsigmoid", &hardsigmoid);
  unary("softsign", &softsign);
  unary("tanhshrink", &tanhshrink);
  unary("logsigmoid", &logsigmoid);
  m.def("hardtanh", &hardtanh, py::arg("input"), py::arg("min_val") = -1.0, py::arg("max_val") = 1.0);
  m.def("elu", &elu, py::arg("input"), py::arg("alpha") = 1.0);
  m.def("celu", &celu, py::arg("input"), py::arg("alpha") = 1.0);
  m.def("prelu", &prelu, py::arg("input"), py::arg("weight"));
  m.def("glu", &glu, py::arg("input"), py::arg("dim") = -1);

  m.def("relu_", inplace([](Tensor& x) -> Tensor& { return relu_(x); }), py::arg("input"));
  cls.def("relu_", inplace([](Tensor& x) -> Tensor& { return relu_(x); }));
  m.def("leaky_relu_", inplace<double>([](Tensor& x, double s) -> Tensor& { return leaky_relu_(x, s); }),
        py::arg("input"), py::arg("negative_slope") = 0.01);
  m.def("hardtanh_",
        inplace<double, double>([](Tensor& x, double lo, double hi) -> Tensor& { return hardtanh_(x, lo, hi); }),
        py::arg("input"), py::arg("min_val") = -1.0, py::arg("max_val") = 1.0);
  m.def("relu6_", inplace([](Tensor& x) -> Tensor& { return relu6_(x); }), py::arg("input"));
  m.def("elu_", inplace<double>([](Tensor& x, double a) -> Tensor& { return elu_(x, a); }), py::arg("input"),
        py::arg("alpha") = 1.0);
  m.def("selu_", inplace([](Tensor& x) -> Tensor& { return selu_(x); }), py::arg("input"));
  m.def("celu_", inplace<double>([](Tensor& x, double a) -> Tensor& { return celu_(x, a); }), py::arg("input"),
        py::arg("alpha") = 1.0);
  m.def("silu_", inplace([](Tensor& x) -> Tensor& { return silu_(x); }), py::arg("input"));
  m.def("mish_", inplace([](Tensor& x) -> Tensor& { return mish_(x); }), py::arg("input"));
  m.def("hardswish_", inplace([](Tensor& x) -> Tensor& { return hardswish_(x); }), py::arg("input"));
  m.def("hardsigmoid_", inplace([](Tensor& x) -> Tensor& { return hardsigmoid_(x); }), py::arg("input"));
  m.def("dropout_", inplace<double, bool>([](Tensor& x, double p, bool t) -> Tensor& { return dropout_(x, p, t); }),
        py::arg("input"), py::arg("p") = 0.5, py::arg("training") = true);

  m.def("binary_cross_entropy",
        [](const Tensor& input, const Tensor& target, std::optional<Tensor> weight, const std::string& reduction) {
          return binary_cross_entropy(input, target, opt(weight), reduction);
        },
        py::arg("input"), py::arg("target"), py::arg("weight") = py::none(), py::arg("reduction") = "mean");
  m.def("l1_loss", &l1_loss, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean");
  m.def("smooth_l1_loss", &smooth_l1_loss, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean",
        py::arg("beta") = 1.0);
  m.def("huber_loss", &huber_loss, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean",
        py::arg("delta") = 1.0);
  m.def("kl_div", &kl_div, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean",
        py::arg("log_target") = false);
  m.def("gaussian_nll_loss",
        [](const Tensor& input, const Tensor& target, py::handle var, bool full, double eps,
           const std::string& reduction) {
          if (py::isinstance<Tensor>(var))
            return gaussian_nll_loss(input, target, var.cast<Tensor>(), full, eps, reduction);
          if (!PyFloat_Check(var.ptr()) && !PyLong_Check(var.ptr()))
            throw TypeError("gaussian_nll_loss: var must be a Tensor or a float, got " + type_name(var));
          return gaussian_nll_loss(input, target, var.cast<double>(), full, eps, reduction);
        },
        py::arg("input"), py::arg("target"), py::arg("var"), py::arg("full") = false, py::arg("eps") = 1e-6,
        py::arg("reduction") = "mean");
}

}  // namespace backprop::python
