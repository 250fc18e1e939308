#include <cmath>

// The Tensor class: metadata, autograd state, arithmetic operators and methods.
#include "bindings.hpp"

namespace backprop::python {
namespace {

py::tuple to_tuple(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = py::int_(s[i]);
  return t;
}

// A Python hook: called with the gradient, may return a replacement or None.
GradHook python_hook(py::function fn) {
  // The hook may be destroyed inside the engine, which runs with the GIL released: take the GIL
  // to drop the Python function.
  std::shared_ptr<py::function> holder(new py::function(std::move(fn)), [](py::function* f) {
    if (!Py_IsInitialized()) return;
    py::gil_scoped_acquire gil;
    delete f;
  });
  return [holder](const Tensor& g) -> Tensor {
    py::gil_scoped_acquire gil;
    py::object r = (*holder)(g);
    if (r.is_none()) return Tensor();
    if (!py::isinstance<Tensor>(r)) throw TypeError("hook: a hook must return a Tensor or None");
    return r.cast<Tensor>();
  };
}

// A Python float or int next to a floating tensor, as a double: the operand of the scalar fast
// path of + and *, which makes no 0-d tensor for it. False for anything else (bools, NumPy
// scalars, ints too large for a double: the generic conversion handles and reports those).
bool plain_number(const Tensor& self, py::handle other, double* value) {
  PyObject* p = other.ptr();
  if (!is_floating(self.dtype())) return false;
  if (PyFloat_CheckExact(p)) {
    *value = PyFloat_AS_DOUBLE(p);
    return true;
  }
  if (PyLong_CheckExact(p)) {
    *value = PyLong_AsDouble(p);
    if (*value == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      return false;
    }
    return true;
  }
  return false;
}

using ScalarOp = Tensor (*)(const Tensor&, double);

// Elementwise operators release the GIL on large operands; `f` that releases it itself (matmul,
// whose work is not its element count) says so with manages_gil. `scalar_op`, for commutative
// ops, takes a plain Python number without wrapping it in a tensor first.
template <class F>
void def_binary(py::class_<Tensor>& cls, const char* name, const char* op, F f, bool reflected = false,
                bool manages_gil = false, ScalarOp scalar_op = nullptr) {
  cls.def(
      name,
      [f, op, reflected, manages_gil, scalar_op](const Tensor& self, py::handle other) {
        double value;
        if (scalar_op && plain_number(self, other, &value))
          return release_gil_if(self.numel(), [&] { return scalar_op(self, value); });
        Tensor o = operand(other, self, op);
        Tensor a = reflected ? o : self, b = reflected ? self : o;
        if (manages_gil) return f(a, b);
        return release_gil_if(std::max(a.numel(), b.numel()), [&] { return f(a, b); });
      },
      py::is_operator());
}

template <class F>
void def_inplace(py::class_<Tensor>& cls, const char* name, const char* op, F f) {
  cls.def(name, [f, op](py::object self_obj, py::handle other) {
    Tensor& self = self_obj.cast<Tensor&>();
    Tensor o = operand(other, self, op);
    release_gil_if(std::max(self.numel(), o.numel()), [&] { return &f(self, o); });
    return self_obj;
  });
}

// In-place methods hand back the very Python object they were called on, as PyTorch does: `x +=`
// keeps x's identity and class (an nn.Parameter stays a Parameter).
template <class... Args, class F>
auto returning_self(F f) {
  return [f](py::object self_obj, Args... args) {
    f(self_obj.cast<Tensor&>(), args...);
    return self_obj;
  };
}

bool bool_arg(py::handle h, const char* name) {
  // NumPy bools are accepted: they are what comparisons of arrays give.
  if (PyBool_Check(h.ptr())) return h.ptr() == Py_True;
  if (!py::isinstance<Tensor>(h) && py::hasattr(h, "dtype") && py::str(h.attr("dtype")).cast<std::string>() == "bool")
    return h.cast<bool>();
  throw TypeError(std::string(name) + " must be a bool, got " + type_name(h));
}

// torch.Tensor's legacy constructor.
Tensor legacy_tensor(py::args args, py::kwargs kwargs) {
  for (auto item : kwargs) {
    std::string key = py::str(item.first);
    if (key != "device") throw TypeError("Tensor() got an unexpected keyword argument '" + key + "'");
    check_device(item.second, "Tensor");
  }
  if (args.size() == 0) return empty({0}, DType::Float32);
  py::handle first = args[0];
  if (args.size() == 1 && py::isinstance<Tensor>(first)) return Tensor(first.cast<Tensor>().impl_ptr());
  // backprop.Size is a tuple subclass and means a shape, as torch.Size does; other sequences are data.
  bool is_size = args.size() == 1 && PyTuple_Check(first.ptr()) && !PyTuple_CheckExact(first.ptr()) &&
                 std::string(Py_TYPE(first.ptr())->tp_name) == "Size";
  if ((PyLong_Check(first.ptr()) && !PyBool_Check(first.ptr())) || is_size) {
    if (!is_size)
      for (auto a : args)
        if (!PyLong_Check(a.ptr()) || PyBool_Check(a.ptr()))
          throw TypeError("Tensor(): a shape is given as ints, got " + type_name(a) +
                          "; to copy data pass one sequence: Tensor([1, 2])");
    Shape shape = shape_args(args, "Tensor");
    for (int64_t n : shape)
      if (n < 0) throw ValueError("Tensor(): negative dimension in shape " + shape_str(shape));
    return empty(shape, DType::Float32);
  }
  if (args.size() != 1)
    throw TypeError("Tensor(): expected one sequence of data, or ints giving a shape; got " +
                    std::to_string(args.size()) + " arguments, the first of type " + type_name(first));
  if (py::isinstance<py::str>(first) || py::isinstance<py::dict>(first) ||
      !(py::hasattr(first, "__array__") || py::isinstance<py::sequence>(first)))
    throw TypeError("Tensor(): expected a sequence of numbers, an array or a shape, got " + type_name(first) +
                    (PyFloat_Check(first.ptr()) ? "; use backprop.tensor(x) for a 0-d tensor" : ""));
  Tensor data = to_tensor(first, "Tensor");
  return data.dtype() == DType::Float32 ? data : data.to(DType::Float32);
}

// Tensor.to in PyTorch's forms: to(dtype), to(device), to(device, dtype), to(other),
// to(dtype=, device=, non_blocking=, copy=).
Tensor tensor_to(const Tensor& t, py::args args, py::kwargs kwargs) {
  py::object dtype = py::none();
  bool copy = false;
  if (args.size() > 2)
    throw TypeError("Tensor.to: expected at most a device and a dtype, got " + std::to_string(args.size()) +
                    " arguments");
  for (auto a : args) {
    if (a.is_none()) continue;
    if (py::isinstance<Tensor>(a)) {
      dtype = py::cast(a.cast<Tensor>().dtype());
    } else if (is_device_arg(a) || (PyLong_Check(a.ptr()) && !PyBool_Check(a.ptr()))) {
      check_device(a, "Tensor.to");
    } else {
      dtype = py::reinterpret_borrow<py::object>(a);
    }
  }
  for (auto item : kwargs) {
    std::string key = py::str(item.first);
    if (key == "dtype") {
      if (!item.second.is_none()) dtype = py::reinterpret_borrow<py::object>(item.second);
    } else if (key == "device") {
      check_device(item.second, "Tensor.to");
    } else if (key == "copy") {
      copy = bool_arg(item.second, "Tensor.to: copy");
    } else if (key == "non_blocking") {
      bool_arg(item.second, "Tensor.to: non_blocking");  // copies are synchronous on the CPU
    } else if (key != "memory_format") {
      throw TypeError("Tensor.to() got an unexpected keyword argument '" + key + "'");
    }
  }
  if (!dtype.is_none()) {
    DType d = dtype_arg(dtype);
    if (d != t.dtype()) return t.to(d);
  }
  return copy ? t.clone() : t;
}

}  // namespace

void bind_tensor(py::module_& m, py::class_<Tensor>& cls) {
  py::class_<Node, std::shared_ptr<Node>>(m, "Node")
      .def("name", &Node::name)
      .def_property_readonly("next_functions",
                             [](const Node& n) {
                               py::list out;
                               for (const auto& e : n.next_edges())
                                 out.append(py::make_tuple(e.node ? py::cast(e.node) : py::none(), e.input_nr));
                               return py::tuple(out);
                             })
      .def_property_readonly(
          "metadata",
          [](Node& n) -> py::object {
            std::shared_ptr<void>& data = n.binding_data();
            if (!data) {
              // Dropped with the node, possibly inside the engine with the GIL released.
              data = std::shared_ptr<void>(new py::object(py::dict()), [](void* p) {
                if (!Py_IsInitialized()) return;
                py::gil_scoped_acquire gil;
                delete static_cast<py::object*>(p);
              });
            }
            return *static_cast<py::object*>(data.get());
          },
          "A dict kept with the node for the user's own annotations.")
      .def_property_readonly("variable",
                             [](const Node& n) -> py::object {
                               Tensor v = accumulated_variable(n);
                               if (!v.defined())
                                 throw py::attribute_error("'" + n.name() + "' object has no attribute 'variable' "
                                                           "(only AccumulateGrad nodes have one)");
                               return py::cast(v);
                             })
      .def_property_readonly("_saved_tensors", [](const Node& n) { return n.saved_tensors(); })
      .def_property_readonly("_forward_trace", [](const Node& n) { return n.forward_trace(); })
      .def("__repr__", [](const Node& n) { return "<" + n.name() + " object>"; });

  cls.def(py::init(&legacy_tensor),
          "Tensor(data) copies nested sequences or arrays as float32; Tensor(2, 3) or Tensor(Size) is an "
          "uninitialised float32 tensor of that shape; Tensor() is empty; Tensor(t) aliases tensor t, sharing its "
          "storage and autograd state (nn.Parameter relies on this).");

  // ---- metadata ---------------------------------------------------------------------------
  cls.def_property_readonly("shape", [](const Tensor& t) { return to_tuple(t.shape()); })
      .def("size",
           [](const Tensor& t, py::object dim) -> py::object {
             if (dim.is_none()) return to_tuple(t.shape());
             return py::int_(t.size(dim.cast<int64_t>()));
           },
           py::arg("dim") = py::none())
      .def("stride",
           [](const Tensor& t, py::object dim) -> py::object {
             if (dim.is_none()) return to_tuple(t.strides());
             return py::int_(t.stride(dim.cast<int64_t>()));
           },
           py::arg("dim") = py::none())
      .def("storage_offset", &Tensor::offset)
      .def_property_readonly("dtype", &Tensor::dtype)
      .def_property_readonly("ndim", &Tensor::dim)
      .def_property_readonly("is_cuda", [](const Tensor&) { return false; })
      .def_property_readonly("is_cpu", [](const Tensor&) { return true; })
      .def("get_device", [](const Tensor&) { return -1; })
      .def("dim", &Tensor::dim)
      .def("numel", &Tensor::numel)
      .def("element_size", [](const Tensor& t) { return element_size(t.dtype()); })
      .def("is_contiguous", &Tensor::is_contiguous)
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t.dtype()); })
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.data_ptr()); })
      .def("_version", &Tensor::version)
      .def("__len__",
           [](const Tensor& t) {
             if (t.dim() == 0) throw py::type_error("len() of a 0-d tensor");
             return t.shape()[0];
           })
      .def("__hash__", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.impl()); })
      .def("__bool__",
           [](const Tensor& t) {
             if (t.numel() != 1)
               throw ShapeError("Boolean value of Tensor with more than one value is ambiguous; use .any() or .all()");
             return t.item() != 0;
           })
      .def("__float__", [](const Tensor& t) { return t.item(); })
      .def("__int__",
           [](const Tensor& t) -> py::object {
             if (!is_floating(t.dtype())) return py::int_(t.item_int());
             double v = t.item();
             if (!std::isfinite(v)) throw py::value_error("cannot convert float " + std::to_string(v) + " to integer");
             // Python's int(float) is exact at any magnitude; a cast to int64_t would be undefined.
             return py::int_(py::float_(v));
           })
      .def("__index__",
           [](const Tensor& t) {
             if (is_floating(t.dtype()) || t.numel() != 1)
               throw py::type_error("only integer tensors of a single element can be converted to an index");
             return t.item_int();
           })
      .def("item", [](const Tensor& t) -> py::object {
        if (t.dtype() == DType::Int64) return py::int_(t.item_int());
        if (t.dtype() == DType::Bool) return py::bool_(t.item_int() != 0);
        return py::float_(t.item());
      });

  // ---- autograd ---------------------------------------------------------------------------
  cls.def_property(
         "requires_grad", &Tensor::requires_grad,
         [](Tensor& t, py::handle r) { t.requires_grad_(bool_arg(r, "requires_grad")); })
      .def("requires_grad_",
           returning_self<py::handle>([](Tensor& t, py::handle r) { t.requires_grad_(bool_arg(r, "requires_grad_")); }),
           py::arg("requires_grad") = true)
      .def_property(
          "grad", [](const Tensor& t) -> py::object { return t.grad().defined() ? py::cast(t.grad()) : py::none(); },
          [](const Tensor& t, py::handle g) {
            if (!g.is_none() && !py::isinstance<Tensor>(g))
              throw TypeError("assigned grad expected to be a Tensor or None but got grad of type " + type_name(g));
            t.set_grad(g.is_none() ? Tensor() : g.cast<Tensor>());
          })
      .def_property_readonly("grad_fn",
                             [](const Tensor& t) -> py::object { return t.grad_fn() ? py::cast(t.grad_fn()) : py::none(); })
      .def_property_readonly("is_leaf", &Tensor::is_leaf)
      .def_property_readonly("retains_grad", &Tensor::retains_grad)
      .def_property(
          "data", [](const Tensor& t) { return t.detach(); },
          [](Tensor& t, py::handle value) {
            if (!py::isinstance<Tensor>(value))
              throw TypeError("Tensor.data: the assigned value must be a Tensor, got " + type_name(value) +
                              "; wrap data with backprop.tensor(...) first");
            t.set_data(value.cast<Tensor>());
          })
      .def(
          "backward",
          [](const Tensor& t, py::object gradient, py::object retain_graph, bool create_graph) {
            Tensor g = gradient.is_none() ? Tensor() : operand(gradient, t, "backward");
            bool retain = retain_graph.is_none() ? create_graph : retain_graph.cast<bool>();
            py::gil_scoped_release release;
            t.backward(g, retain, create_graph);
          },
          py::arg("gradient") = py::none(), py::arg("retain_graph") = py::none(), py::arg("create_graph") = false)
      .def("detach", &Tensor::detach)
      .def("detach_", returning_self<>([](Tensor& t) { t.detach_(); }))
      .def("retain_grad", &Tensor::retain_grad)
      .def("register_hook", [](const Tensor& t, py::function fn) { t.register_hook(python_hook(std::move(fn))); },
           py::arg("hook"));

  // ---- conversions and copies -------------------------------------------------------------
  cls.def("contiguous", &Tensor::contiguous)
      .def("clone", &Tensor::clone)
      .def("to", &tensor_to)
      .def("float", [](const Tensor& t) { return t.to(DType::Float32); })
      .def("double", [](const Tensor& t) { return t.to(DType::Float64); })
      .def("long", [](const Tensor& t) { return t.to(DType::Int64); })
      .def("bool", [](const Tensor& t) { return t.to(DType::Bool); })
      .def("cpu", [](const Tensor& t) { return t; })
      .def("cuda", [](const Tensor&, py::args, py::kwargs) -> Tensor {
        throw TypeError("Tensor.cuda: backprop runs on the CPU only (there is no CUDA support); keep tensors on the "
                        "CPU, or call .to(device) with device = backprop.device('cpu')");
      })
      .def("zero_", returning_self<>([](Tensor& t) { t.zero_(); }))
      .def("fill_", returning_self<double>([](Tensor& t, double v) { t.fill_(v); }), py::arg("value"))
      .def("copy_", returning_self<const Tensor&>([](Tensor& t, const Tensor& src) { t.copy_(src); }), py::arg("src"));

  // ---- operators --------------------------------------------------------------------------
  def_binary(cls, "__add__", "add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, false, false,
             &add_scalar);
  def_binary(cls, "__radd__", "add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, true, false,
             &add_scalar);
  def_binary(cls, "__sub__", "sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); });
  def_binary(cls, "__rsub__", "sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, true);
  def_binary(cls, "__mul__", "mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, false, false,
             &mul_scalar);
  def_binary(cls, "__rmul__", "mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, true, false,
             &mul_scalar);
  def_binary(cls, "__truediv__", "div", [](const Tensor& a, const Tensor& b) { return div(a, b); });
  def_binary(cls, "__rtruediv__", "div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, true);
  def_binary(cls, "__pow__", "pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); });
  def_binary(cls, "__rpow__", "pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); }, true);
  def_binary(cls, "__matmul__", "matmul", &matmul_released, false, true);
  def_binary(cls, "__rmatmul__", "matmul", &matmul_released, true, true);
  def_binary(cls, "__lt__", "lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); });
  def_binary(cls, "__le__", "le", [](const Tensor& a, const Tensor& b) { return le(a, b); });
  def_binary(cls, "__gt__", "gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); });
  def_binary(cls, "__ge__", "ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); });
  def_binary(cls, "__eq__", "eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); });
  def_binary(cls, "__ne__", "ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); });
  def_binary(cls, "__and__", "logical_and", [](const Tensor& a, const Tensor& b) { return logical_and(a, b); });
  def_binary(cls, "__or__", "logical_or", [](const Tensor& a, const Tensor& b) { return logical_or(a, b); });
  cls.def("__neg__", [](const Tensor& t) { return neg(t); })
      .def("__pos__", [](const Tensor& t) { return t; })
      .def("__abs__", [](const Tensor& t) { return abs(t); })
      .def("__invert__", [](const Tensor& t) {
        if (t.dtype() != DType::Bool) throw TypeError("~ is only supported on bool tensors here; use logical_not");
        return logical_not(t);
      });
  def_inplace(cls, "__iadd__", "add_", [](Tensor& a, const Tensor& b) -> Tensor& { return a.add_(b); });
  def_inplace(cls, "__isub__", "sub_", [](Tensor& a, const Tensor& b) -> Tensor& { return a.sub_(b); });
  def_inplace(cls, "__imul__", "mul_", [](Tensor& a, const Tensor& b) -> Tensor& { return a.mul_(b); });
  def_inplace(cls, "__itruediv__", "div_", [](Tensor& a, const Tensor& b) -> Tensor& { return a.div_(b); });
  def_inplace(cls, "sub_", "sub_", [](Tensor& a, const Tensor& b) -> Tensor& { return a.sub_(b); });
  def_inplace(cls, "mul_", "mul_", [](Tensor& a, const Tensor& b) -> Tensor& { return a.mul_(b); });
  def_inplace(cls, "div_", "div_", [](Tensor& a, const Tensor& b) -> Tensor& { return a.div_(b); });
  cls.def(
      "add_",
      returning_self<py::handle, double>([](Tensor& self, py::handle other, double alpha) {
        self.add_(operand(other, self, "add_"), alpha);
      }),
      py::arg("other"), py::kw_only(), py::arg("alpha") = 1.0);
  cls.def("clamp_",
          returning_self<std::optional<double>, std::optional<double>>([](Tensor& self, std::optional<double> lo, std::optional<double> hi) {
            self.clamp_(lo, hi);
          }),
          py::arg("min") = py::none(), py::arg("max") = py::none());
}

}  // namespace backprop::python
