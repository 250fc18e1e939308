// Bindings for the ops of issue 13: rounding and pointwise math, cumulative ops, sorting,
// reordering copies, diagonals, einsum and norms. Arguments are converted here, nothing more.
#include <cmath>
#include <string>

#include "bindings.hpp"

namespace backprop::python {
namespace {

template <class F, class... Extra>
void def_both(py::module_& m, py::class_<Tensor>& cls, const char* name, F f, const py::arg& self_arg,
              const Extra&... extra) {
  m.def(name, f, self_arg, extra...);
  cls.def(name, f, extra...);
}

// A Tensor, or a Python number next to `like`, for ops whose either side may be a number.
std::pair<Tensor, Tensor> operands(py::handle a, py::handle b, const char* op) {
  if (py::isinstance<Tensor>(a)) {
    Tensor ta = a.cast<Tensor>();
    return {ta, operand(b, ta, op)};
  }
  Tensor tb = b.cast<Tensor>();
  return {operand(a, tb, op), tb};
}

std::vector<int64_t> int_list(py::handle h, const char* op, const char* what) {
  if (PyLong_Check(h.ptr())) return {h.cast<int64_t>()};
  try {
    return h.cast<std::vector<int64_t>>();
  } catch (const py::cast_error&) {
    throw TypeError(std::string(op) + ": " + what + " must be an int or a sequence of ints, got " + type_name(h));
  }
}

// `x.flip(0, 1)` and `x.flip((0, 1))` alike.
std::vector<int64_t> varargs_ints(const py::args& args, const char* op) {
  Shape s = shape_args(args, op);
  return std::vector<int64_t>(s.begin(), s.end());
}

Tensor masked_fill_value(const Tensor& x, const Tensor& mask, py::handle value) {
  if (py::isinstance<Tensor>(value)) return masked_fill(x, mask, value.cast<Tensor>());
  return masked_fill(x, mask, value.cast<double>());
}

std::optional<std::vector<int64_t>> optional_dims(py::handle dim, const char* op) {
  if (dim.is_none()) return std::nullopt;
  return int_list(dim, op, "dim");
}

}  // namespace

void bind_ops_more(py::module_& m, py::class_<Tensor>& cls) {
  py::object namedtuple = py::module_::import("collections").attr("namedtuple");
  m.attr("_sort_result") = namedtuple("sort", "values indices");
  m.attr("_topk_result") = namedtuple("topk", "values indices");

  // ---- pointwise --------------------------------------------------------------------------
  auto unary = [&](const char* name, Tensor (*f)(const Tensor&)) {
    def_both(m, cls, name, [f](const Tensor& x) { return release_gil_if(x.numel() * 4, [&] { return f(x); }); },
             py::arg("input"));
  };
  unary("floor", &floor);
  unary("ceil", &ceil);
  unary("trunc", &trunc);
  unary("fix", &trunc);
  unary("sign", &sign);
  unary("square", &square);
  unary("rsqrt", &rsqrt);
  unary("reciprocal", &reciprocal);
  unary("log1p", &log1p);
  unary("expm1", &expm1);
  unary("log2", &log2);
  unary("log10", &log10);
  unary("erf", &erf);
  def_both(m, cls, "round",
           [](const Tensor& x, int64_t decimals) { return release_gil_if(x.numel(), [&] { return round(x, decimals); }); },
           py::arg("input"), py::kw_only(), py::arg("decimals") = 0);
  def_both(m, cls, "atan2",
           [](py::handle a, py::handle b) {
             auto [ta, tb] = operands(a, b, "atan2");
             return atan2(ta, tb);
           },
           py::arg("input"), py::arg("other"));
  m.attr("arctan2") = m.attr("atan2");
  cls.attr("arctan2") = cls.attr("atan2");
  def_both(m, cls, "hypot",
           [](py::handle a, py::handle b) {
             auto [ta, tb] = operands(a, b, "hypot");
             return hypot(ta, tb);
           },
           py::arg("input"), py::arg("other"));
  def_both(m, cls, "clamp_min", &clamp_min, py::arg("input"), py::arg("min"));
  def_both(m, cls, "clamp_max", &clamp_max, py::arg("input"), py::arg("max"));
  cls.def("clamp_min_", [](py::object self, double lo) {
    self.cast<Tensor&>().clamp_min_(lo);
    return self;
  }, py::arg("min"));
  cls.def("clamp_max_", [](py::object self, double hi) {
    self.cast<Tensor&>().clamp_(std::nullopt, hi);
    return self;
  }, py::arg("max"));
  def_both(m, cls, "masked_fill", &masked_fill_value, py::arg("input"), py::arg("mask"), py::arg("value"));
  cls.def("masked_fill_",
          [](py::object self, const Tensor& mask, py::handle value) {
            Tensor& t = self.cast<Tensor&>();
            if (py::isinstance<Tensor>(value))
              t.masked_fill_(mask, value.cast<Tensor>());
            else
              t.masked_fill_(mask, value.cast<double>());
            return self;
          },
          py::arg("mask"), py::arg("value"));

  // ---- cumulative and sorting -------------------------------------------------------------
  auto scan = [&](const char* name, Tensor (*f)(const Tensor&, int64_t)) {
    def_both(m, cls, name,
             [f](const Tensor& x, int64_t dim, py::object dtype) {
               Tensor src = dtype.is_none() ? x : x.to(dtype_arg(dtype));
               return release_gil_if(src.numel(), [&] { return f(src, dim); });
             },
             py::arg("input"), py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none());
  };
  scan("cumsum", &cumsum);
  scan("cumprod", &cumprod);
  // A stable sort is the only kind there is, so `stable` changes nothing.
  def_both(m, cls, "sort",
           [m](const Tensor& x, int64_t dim, bool descending, bool /*stable*/) {
             auto r = release_gil_if(x.numel() * 8, [&] { return sort(x, dim, descending); });
             return m.attr("_sort_result")(r.first, r.second);
           },
           py::arg("input"), py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(),
           py::arg("stable") = false);
  def_both(m, cls, "argsort",
           [](const Tensor& x, int64_t dim, bool descending, bool /*stable*/) {
             return release_gil_if(x.numel() * 8, [&] { return argsort(x, dim, descending); });
           },
           py::arg("input"), py::arg("dim") = -1, py::arg("descending") = false, py::kw_only(),
           py::arg("stable") = false);
  def_both(m, cls, "topk",
           [m](const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted) {
             auto r = release_gil_if(x.numel() * 4, [&] { return topk(x, k, dim, largest, sorted); });
             return m.attr("_topk_result")(r.first, r.second);
           },
           py::arg("input"), py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true, py::arg("sorted") = true);

  // ---- reordering and replicating ---------------------------------------------------------
  m.def("flip", [](const Tensor& x, py::handle dims) { return flip(x, int_list(dims, "flip", "dims")); },
        py::arg("input"), py::arg("dims"));
  cls.def("flip", [](const Tensor& x, py::args dims) { return flip(x, varargs_ints(dims, "flip")); });
  def_both(m, cls, "fliplr", [](const Tensor& x) { return flip(x, {1}); }, py::arg("input"));
  def_both(m, cls, "flipud", [](const Tensor& x) { return flip(x, {0}); }, py::arg("input"));
  def_both(m, cls, "roll",
           [](const Tensor& x, py::handle shifts, py::object dims) {
             std::vector<int64_t> d = dims.is_none() ? std::vector<int64_t>{} : int_list(dims, "roll", "dims");
             return roll(x, int_list(shifts, "roll", "shifts"), d);
           },
           py::arg("input"), py::arg("shifts"), py::arg("dims") = py::none());
  cls.def("repeat", [](const Tensor& x, py::args repeats) { return repeat(x, varargs_ints(repeats, "repeat")); });
  m.def("tile", [](const Tensor& x, py::handle dims) { return tile(x, int_list(dims, "tile", "dims")); },
        py::arg("input"), py::arg("dims"));
  cls.def("tile", [](const Tensor& x, py::args dims) { return tile(x, varargs_ints(dims, "tile")); });

  // ---- diagonals and triangles ------------------------------------------------------------
  def_both(m, cls, "diagonal", &diagonal, py::arg("input"), py::arg("offset") = 0, py::arg("dim1") = 0,
           py::arg("dim2") = 1);
  def_both(m, cls, "diag", &diag, py::arg("input"), py::arg("diagonal") = 0);
  def_both(m, cls, "trace", &trace, py::arg("input"));
  def_both(m, cls, "triu", &triu, py::arg("input"), py::arg("diagonal") = 0);
  def_both(m, cls, "tril", &tril, py::arg("input"), py::arg("diagonal") = 0);

  // ---- einsum and norms -------------------------------------------------------------------
  m.def("einsum", [](const std::string& equation, py::args operands) {
    // einsum("ij,jk", a, b) and einsum("ij,jk", [a, b]) alike.
    if (operands.size() == 1 && !py::isinstance<Tensor>(operands[0]))
      return einsum(equation, tensor_list(operands[0], "einsum"));
    return einsum(equation, tensor_list(operands, "einsum"));
  });
  def_both(m, cls, "outer", &outer, py::arg("input"), py::arg("vec2"));
  def_both(m, cls, "ger", &outer, py::arg("input"), py::arg("vec2"));
  def_both(m, cls, "dist",
           [](const Tensor& a, const Tensor& b, double p) { return dist(a, b, p); }, py::arg("input"),
           py::arg("other"), py::arg("p") = 2.0);
  def_both(m, cls, "norm",
           [](const Tensor& x, py::object p, py::object dim, bool keepdim) {
             if (py::isinstance<py::str>(p)) {
               std::string name = p.cast<std::string>();
               if (name == "fro") return norm(x, 2.0, dims_arg(dim), keepdim);
               std::vector<int64_t> d = dim.is_none() ? std::vector<int64_t>{-2, -1} : dims_arg(dim);
               return matrix_norm(x, name, d, keepdim);
             }
             return norm(x, p.cast<double>(), dims_arg(dim), keepdim);
           },
           py::arg("input"), py::arg("p") = "fro", py::arg("dim") = py::none(), py::arg("keepdim") = false);
  m.def("_linalg_vector_norm",
        [](const Tensor& x, double ord, py::object dim, bool keepdim) { return vector_norm(x, ord, dims_arg(dim), keepdim); },
        py::arg("x"), py::arg("ord") = 2.0, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  m.def("_linalg_matrix_norm",
        [](const Tensor& x, py::object ord, py::handle dim, bool keepdim) {
          std::vector<int64_t> d = int_list(dim, "linalg.matrix_norm", "dim");
          if (py::isinstance<py::str>(ord)) return matrix_norm(x, ord.cast<std::string>(), d, keepdim);
          return matrix_norm(x, ord.cast<double>(), d, keepdim);
        },
        py::arg("A"), py::arg("ord") = "fro", py::arg("dim") = py::make_tuple(-2, -1), py::arg("keepdim") = false);
  m.def("_linalg_norm",
        [](const Tensor& x, py::object ord, py::object dim, bool keepdim) {
          auto d = optional_dims(dim, "linalg.norm");
          if (py::isinstance<py::str>(ord)) return linalg_norm(x, ord.cast<std::string>(), d, keepdim);
          std::optional<double> o;
          if (!ord.is_none()) o = ord.cast<double>();
          return linalg_norm(x, o, d, keepdim);
        },
        py::arg("A"), py::arg("ord") = py::none(), py::arg("dim") = py::none(), py::arg("keepdim") = false);
}

}  // namespace backprop::python
