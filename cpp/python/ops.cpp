// Differentiable ops, bound both as backprop.<name>(x, ...) and as Tensor methods.
#include "bindings.hpp"

namespace backprop::python {
namespace {

Tensor opt(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }

// Binds `f` as a module function and as a method: the first parameter (named by `self_arg`)
// becomes `self`.
template <class F, class... Extra>
void def_both(py::module_& m, py::class_<Tensor>& cls, const char* name, F f, const py::arg& self_arg,
              const Extra&... extra) {
  m.def(name, f, self_arg, extra...);
  cls.def(name, f, extra...);
}

py::object values_indices(py::module_& m, const std::pair<Tensor, Tensor>& r, const char* kind) {
  return m.attr(kind)(r.first, r.second);
}

}  // namespace

void bind_ops(py::module_& m, py::class_<Tensor>& cls) {
  py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  m.attr("_max_result") = namedtuple("max", "values indices");
  m.attr("_min_result") = namedtuple("min", "values indices");

  // ---- elementwise ------------------------------------------------------------------------
  // Transcendental loops cost several adds an element, hence the factor in the work estimate.
  auto unary = [&](const char* name, Tensor (*f)(const Tensor&)) {
    def_both(m, cls, name, [f](const Tensor& x) { return release_gil_if(x.numel() * 4, [&] { return f(x); }); },
             py::arg("input"));
  };
  unary("exp", &exp);
  unary("log", &log);
  unary("sqrt", &sqrt);
  unary("abs", &abs);
  unary("sin", &sin);
  unary("cos", &cos);
  unary("neg", &neg);
  unary("relu", &relu);
  unary("sigmoid", &sigmoid);
  unary("tanh", &tanh);
  unary("logical_not", &logical_not);
  auto clamped = [](const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
    return release_gil_if(x.numel() * 2, [&] { return clamp(x, lo, hi); });
  };
  def_both(m, cls, "clamp", clamped, py::arg("input"), py::arg("min") = py::none(), py::arg("max") = py::none());
  def_both(m, cls, "clip", clamped, py::arg("input"), py::arg("min") = py::none(), py::arg("max") = py::none());
  m.def("leaky_relu",
        [](const Tensor& x, double slope) { return release_gil_if(x.numel() * 2, [&] { return leaky_relu(x, slope); }); },
        py::arg("input"), py::arg("negative_slope") = 0.01);
  m.def("gelu",
        [](const Tensor& x, const std::string& approximate) {
          return release_gil_if(x.numel() * 8, [&] { return gelu(x, approximate); });
        },
        py::arg("input"), py::arg("approximate") = "none");
  m.def("softplus",
        [](const Tensor& x, double beta, double threshold) {
          return release_gil_if(x.numel() * 8, [&] { return softplus(x, beta, threshold); });
        },
        py::arg("input"), py::arg("beta") = 1.0, py::arg("threshold") = 20.0);

  auto binary = [&](const char* name, Tensor (*f)(const Tensor&, const Tensor&)) {
    def_both(
        m, cls, name,
        [f, name](py::handle a, py::handle b) {
          Tensor ta, tb;
          if (py::isinstance<Tensor>(a)) {
            ta = a.cast<Tensor>();
            tb = operand(b, ta, name);
          } else {
            tb = b.cast<Tensor>();
            ta = operand(a, tb, name);
          }
          return release_gil_if(std::max(ta.numel(), tb.numel()), [&] { return f(ta, tb); });
        },
        py::arg("input"), py::arg("other"));
  };
  binary("add", &add);
  binary("sub", &sub);
  binary("mul", &mul);
  binary("div", &div);
  binary("pow", static_cast<Tensor (*)(const Tensor&, const Tensor&)>(&pow));
  binary("maximum", &maximum);
  binary("minimum", &minimum);
  binary("lt", &lt);
  binary("le", &le);
  binary("gt", &gt);
  binary("ge", &ge);
  binary("eq", &eq);
  binary("ne", &ne);
  binary("logical_and", &logical_and);
  binary("logical_or", &logical_or);
  m.def(
      "where",
      [](const Tensor& cond, py::handle a, py::handle b) {
        Tensor ta = py::isinstance<Tensor>(a) ? a.cast<Tensor>() : Tensor();
        Tensor tb = py::isinstance<Tensor>(b) ? b.cast<Tensor>() : Tensor();
        Tensor like = ta.defined() ? ta : (tb.defined() ? tb : scalar_tensor(0.0));
        return where(cond, ta.defined() ? ta : operand(a, like, "where"), tb.defined() ? tb : operand(b, like, "where"));
      },
      py::arg("condition"), py::arg("input"), py::arg("other"));

  // ---- linear algebra ---------------------------------------------------------------------
  def_both(m, cls, "matmul", &matmul_released, py::arg("input"), py::arg("other"));
  def_both(m, cls, "mm", &matmul_released, py::arg("input"), py::arg("mat2"));
  m.def("linear",
        [](const Tensor& x, const Tensor& w, std::optional<Tensor> b) {
          return release_gil_if(x.numel() * (w.dim() ? w.shape()[0] : 1), [&] { return linear(x, w, opt(b)); });
        },
        py::arg("input"), py::arg("weight"), py::arg("bias") = py::none());
  m.def("_linear_activation",
        [](const Tensor& x, const Tensor& w, std::optional<Tensor> b, const std::string& activation) {
          return release_gil_if(x.numel() * (w.dim() ? w.shape()[0] : 1),
                                [&] { return linear_activation(x, w, opt(b), activation); });
        },
        py::arg("input"), py::arg("weight"), py::arg("bias"), py::arg("activation"));

  // ---- reductions -------------------------------------------------------------------------
  def_both(m, cls, "sum",
           [](const Tensor& x, py::object dim, bool keepdim, py::object dtype) {
             Tensor src = dtype.is_none() ? x : x.to(dtype_arg(dtype));
             std::vector<int64_t> dims = dims_arg(dim);
             return release_gil_if(src.numel(), [&] { return sum(src, dims, keepdim); });
           },
           py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(),
           py::arg("dtype") = py::none());
  def_both(m, cls, "mean",
           [](const Tensor& x, py::object dim, bool keepdim, py::object dtype) {
             Tensor src = dtype.is_none() ? x : x.to(dtype_arg(dtype));
             std::vector<int64_t> dims = dims_arg(dim);
             return release_gil_if(src.numel(), [&] { return mean(src, dims, keepdim); });
           },
           py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(),
           py::arg("dtype") = py::none());
  def_both(m, cls, "max",
           [m](const Tensor& x, py::object dim, bool keepdim) -> py::object {
             py::module_ mod = m;
             if (dim.is_none()) return py::cast(max(x));
             if (py::isinstance<Tensor>(dim)) return py::cast(maximum(x, dim.cast<Tensor>()));
             return values_indices(mod, max(x, dim.cast<int64_t>(), keepdim), "_max_result");
           },
           py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "min",
           [m](const Tensor& x, py::object dim, bool keepdim) -> py::object {
             py::module_ mod = m;
             if (dim.is_none()) return py::cast(min(x));
             if (py::isinstance<Tensor>(dim)) return py::cast(minimum(x, dim.cast<Tensor>()));
             return values_indices(mod, min(x, dim.cast<int64_t>(), keepdim), "_min_result");
           },
           py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "amax", [](const Tensor& x, py::object dim, bool keepdim) { return amax(x, dims_arg(dim), keepdim); },
           py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "amin",
           [](const Tensor& x, py::object dim, bool keepdim) { return amin(x, dims_arg(dim), keepdim); },
           py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "logsumexp",
           [](const Tensor& x, py::object dim, bool keepdim) { return logsumexp(x, dims_arg(dim), keepdim); },
           py::arg("input"), py::arg("dim"), py::arg("keepdim") = false);
  def_both(m, cls, "argmax", &argmax, py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "argmin", &argmin, py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "var",
           [](const Tensor& x, py::object dim, py::object unbiased, bool keepdim, py::object correction) {
             double c = 1.0;
             if (!correction.is_none()) c = correction.cast<double>();
             else if (!unbiased.is_none()) c = unbiased.cast<bool>() ? 1.0 : 0.0;
             return var(x, dims_arg(dim), c, keepdim);
           },
           py::arg("input"), py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false,
           py::kw_only(), py::arg("correction") = py::none());
  def_both(m, cls, "std",
           [](const Tensor& x, py::object dim, py::object unbiased, bool keepdim, py::object correction) {
             double c = 1.0;
             if (!correction.is_none()) c = correction.cast<double>();
             else if (!unbiased.is_none()) c = unbiased.cast<bool>() ? 1.0 : 0.0;
             return backprop::std(x, dims_arg(dim), c, keepdim);
           },
           py::arg("input"), py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false,
           py::kw_only(), py::arg("correction") = py::none());
  def_both(m, cls, "any", [](const Tensor& x, py::object dim, bool keepdim) { return any(x, dims_arg(dim), keepdim); },
           py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "all", [](const Tensor& x, py::object dim, bool keepdim) { return all(x, dims_arg(dim), keepdim); },
           py::arg("input"), py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_both(m, cls, "softmax",
           [](const Tensor& x, int64_t dim) { return release_gil_if(x.numel() * 8, [&] { return softmax(x, dim); }); },
           py::arg("input"), py::arg("dim"));
  def_both(m, cls, "log_softmax",
           [](const Tensor& x, int64_t dim) { return release_gil_if(x.numel() * 8, [&] { return log_softmax(x, dim); }); },
           py::arg("input"), py::arg("dim"));

  // ---- shape ------------------------------------------------------------------------------
  m.def("reshape", [](const Tensor& x, const Shape& shape) { return reshape(x, shape); }, py::arg("input"), py::arg("shape"));
  cls.def("reshape", [](const Tensor& x, py::args shape) { return reshape(x, shape_args(shape, "reshape")); });
  cls.def("view", [](const Tensor& x, py::args shape) {
    if (shape.size() == 1 && !PyLong_Check(shape[0].ptr()) && !py::isinstance<py::sequence>(shape[0]))
      return x.to(dtype_arg(shape[0]));
    return view(x, shape_args(shape, "view"));
  });
  cls.def("view_as", [](const Tensor& x, const Tensor& other) { return view(x, other.shape()); });
  cls.def("reshape_as", [](const Tensor& x, const Tensor& other) { return reshape(x, other.shape()); });
  cls.def("expand", [](const Tensor& x, py::args shape) { return expand(x, shape_args(shape, "expand")); });
  cls.def("expand_as", [](const Tensor& x, const Tensor& other) { return expand(x, other.shape()); });
  m.def("permute", [](const Tensor& x, const std::vector<int64_t>& dims) { return permute(x, dims); }, py::arg("input"),
        py::arg("dims"));
  cls.def("permute", [](const Tensor& x, py::args dims) { return permute(x, shape_args(dims, "permute")); });
  def_both(m, cls, "flatten", &flatten, py::arg("input"), py::arg("start_dim") = 0, py::arg("end_dim") = -1);
  def_both(m, cls, "transpose", &transpose, py::arg("input"), py::arg("dim0"), py::arg("dim1"));
  def_both(m, cls, "swapaxes", &transpose, py::arg("input"), py::arg("axis0"), py::arg("axis1"));
  def_both(m, cls, "t", [](const Tensor& x) { return x.t(); }, py::arg("input"));
  cls.def_property_readonly("T", [](const Tensor& x) {
    std::vector<int64_t> dims;
    for (int64_t d = x.dim() - 1; d >= 0; --d) dims.push_back(d);
    return permute(x, dims);
  });
  cls.def_property_readonly("mT", [](const Tensor& x) { return transpose(x, -2, -1); });
  def_both(m, cls, "squeeze",
           [](const Tensor& x, py::object dim) {
             if (dim.is_none()) return squeeze(x);
             return squeeze(x, dims_arg(dim));
           },
           py::arg("input"), py::arg("dim") = py::none());
  def_both(m, cls, "unsqueeze", &unsqueeze, py::arg("input"), py::arg("dim"));
  def_both(m, cls, "narrow", &narrow, py::arg("input"), py::arg("dim"), py::arg("start"), py::arg("length"));
  def_both(m, cls, "select", &select, py::arg("input"), py::arg("dim"), py::arg("index"));
  def_both(m, cls, "index_select", &index_select, py::arg("input"), py::arg("dim"), py::arg("index"));
  def_both(m, cls, "gather", &gather, py::arg("input"), py::arg("dim"), py::arg("index"));
  def_both(m, cls, "nonzero", &nonzero, py::arg("input"));
  def_both(m, cls, "unbind", [](const Tensor& x, int64_t dim) { return py::tuple(py::cast(unbind(x, dim))); },
           py::arg("input"), py::arg("dim") = 0);
  def_both(m, cls, "split",
           [](const Tensor& x, py::object split_size_or_sections, int64_t dim) {
             if (PyLong_Check(split_size_or_sections.ptr()))
               return py::tuple(py::cast(split(x, split_size_or_sections.cast<int64_t>(), dim)));
             return py::tuple(py::cast(split_with_sizes(x, split_size_or_sections.cast<std::vector<int64_t>>(), dim)));
           },
           py::arg("input"), py::arg("split_size_or_sections"), py::arg("dim") = 0);
  def_both(m, cls, "chunk", [](const Tensor& x, int64_t chunks, int64_t dim) { return py::tuple(py::cast(chunk(x, chunks, dim))); },
           py::arg("input"), py::arg("chunks"), py::arg("dim") = 0);
  m.def("cat", [](py::handle tensors, int64_t dim) { return cat(tensor_list(tensors, "cat"), dim); },
        py::arg("tensors"), py::arg("dim") = 0);
  m.def("concat", [](py::handle tensors, int64_t dim) { return cat(tensor_list(tensors, "cat"), dim); },
        py::arg("tensors"), py::arg("dim") = 0);
  m.def("stack", [](py::handle tensors, int64_t dim) { return stack(tensor_list(tensors, "stack"), dim); },
        py::arg("tensors"), py::arg("dim") = 0);
  m.def("index_put",
        [](const Tensor& x, py::handle indices, const Tensor& values, bool accumulate) {
          return index_put(x, tensor_list(indices, "index_put"), values, accumulate);
        },
        py::arg("input"), py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);

  // ---- losses and regularisation (exposed through backprop.nn.functional) ------------------
  m.def("cross_entropy",
        [](const Tensor& input, const Tensor& target, std::optional<Tensor> weight, int64_t ignore_index,
           const std::string& reduction, double label_smoothing) {
          Tensor w = opt(weight);
          return release_gil_if(input.numel() * 8, [&] {
            return cross_entropy(input, target, reduction, label_smoothing, ignore_index, w);
          });
        },
        py::arg("input"), py::arg("target"), py::arg("weight") = py::none(), py::arg("ignore_index") = -100,
        py::arg("reduction") = "mean", py::arg("label_smoothing") = 0.0);
  m.def("nll_loss",
        [](const Tensor& input, const Tensor& target, std::optional<Tensor> weight, int64_t ignore_index,
           const std::string& reduction) { return nll_loss(input, target, reduction, ignore_index, opt(weight)); },
        py::arg("input"), py::arg("target"), py::arg("weight") = py::none(), py::arg("ignore_index") = -100,
        py::arg("reduction") = "mean");
  m.def("mse_loss", &mse_loss, py::arg("input"), py::arg("target"), py::arg("reduction") = "mean");
  m.def("binary_cross_entropy_with_logits",
        [](const Tensor& input, const Tensor& target, std::optional<Tensor> weight, const std::string& reduction,
           std::optional<Tensor> pos_weight) {
          return binary_cross_entropy_with_logits(input, target, reduction, opt(weight), opt(pos_weight));
        },
        py::arg("input"), py::arg("target"), py::arg("weight") = py::none(), py::arg("reduction") = "mean",
        py::arg("pos_weight") = py::none());
  m.def("dropout", &dropout, py::arg("input"), py::arg("p") = 0.5, py::arg("training") = true);
  m.def("layer_norm",
        [](const Tensor& x, const Shape& shape, std::optional<Tensor> w, std::optional<Tensor> b, double eps) {
          Tensor weight = opt(w), bias = opt(b);
          return release_gil_if(x.numel() * 8, [&] { return layer_norm(x, shape, weight, bias, eps); });
        },
        py::arg("input"), py::arg("normalized_shape"), py::arg("weight") = py::none(), py::arg("bias") = py::none(),
        py::arg("eps") = 1e-5);
}

}  // namespace backprop::python
