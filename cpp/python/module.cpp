// backprop._core: exception mapping, dtypes, factories, memory and thread controls.
#include <cmath>

#include "bindings.hpp"

namespace backprop::python {

namespace {

// backprop.tensor, registered by the package at import (see _set_tensor_converter): the core
// never imports the package it sits under. Kept for the life of the process, never released,
// since it may be needed until interpreter shutdown.
PyObject* g_tensor_converter = nullptr;

}  // namespace

Tensor to_tensor(py::handle h, const char* op) {
  if (g_tensor_converter == nullptr)
    throw RuntimeError(std::string(op) + ": backprop._core is used without the backprop package; import backprop "
                       "first (it registers the converter for lists and arrays)");
  return py::reinterpret_borrow<py::object>(g_tensor_converter)(h).cast<Tensor>();
}

Tensor operand(py::handle h, const Tensor& like, const char* op) {
  if (py::isinstance<Tensor>(h)) return h.cast<Tensor>();
  if (PyBool_Check(h.ptr())) {
    Tensor t = scalar_tensor(h.ptr() == Py_True ? 1.0 : 0.0, is_floating(like.dtype()) ? like.dtype() : DType::Bool);
    return t;
  }
  if (PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr())) {
    double v = PyFloat_AsDouble(h.ptr());
    if (PyErr_Occurred()) throw py::error_already_set();
    if (PyFloat_Check(h.ptr()) && !is_floating(like.dtype())) return scalar_tensor(v, DType::Float32);
    return wrap_scalar(v, like);
  }
  // NumPy scalars and arrays, nested lists: through backprop.tensor.
  if (py::hasattr(h, "__array__") || py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h)) {
    Tensor t = to_tensor(h, op);
    if (is_floating(like.dtype()) && is_floating(t.dtype()) && t.dtype() != like.dtype() && t.dim() == 0)
      t = t.to(like.dtype());
    return t;
  }
  throw TypeError(std::string(op) + ": unsupported operand type " + type_name(h) +
                  "; expected a Tensor or a number");
}

std::vector<int64_t> dims_arg(py::handle dim) {
  if (dim.is_none()) return {};
  if (PyLong_Check(dim.ptr())) return {dim.cast<int64_t>()};
  try {
    return dim.cast<std::vector<int64_t>>();
  } catch (const py::cast_error&) {
    throw TypeError("dim must be None, an int or a sequence of ints, got " +
                    type_name(dim));
  }
}

Shape shape_args(const py::args& args, const char* op) {
  if (args.size() == 1 && !PyLong_Check(args[0].ptr())) {
    try {
      return args[0].cast<Shape>();
    } catch (const py::cast_error&) {
      throw TypeError(std::string(op) + ": expected a shape given as ints or one sequence of ints");
    }
  }
  Shape shape;
  for (auto a : args) {
    if (!PyLong_Check(a.ptr()) && !py::hasattr(a, "__index__"))
      throw TypeError(std::string(op) + ": expected a shape given as ints or one sequence of ints, got " +
                      type_name(a));
    shape.push_back(a.cast<int64_t>());
  }
  return shape;
}

DType dtype_arg(py::handle h) {
  if (py::isinstance<DType>(h)) return h.cast<DType>();
  std::string name;
  if (py::isinstance<py::str>(h)) {
    name = h.cast<std::string>();
  } else if (h.ptr() == reinterpret_cast<PyObject*>(&PyFloat_Type)) {
    return DType::Float64;
  } else if (h.ptr() == reinterpret_cast<PyObject*>(&PyLong_Type)) {
    return DType::Int64;
  } else if (h.ptr() == reinterpret_cast<PyObject*>(&PyBool_Type)) {
    return DType::Bool;
  } else {
    py::object np_dtype = py::module_::import("numpy").attr("dtype")(h);
    name = py::str(np_dtype.attr("name"));
  }
  if (name == "float32" || name == "float") return DType::Float32;
  if (name == "float64" || name == "double") return DType::Float64;
  if (name == "int64" || name == "long") return DType::Int64;
  if (name == "bool") return DType::Bool;
  throw TypeError("unsupported dtype '" + name + "'; backprop supports float32, float64, int64 and bool");
}

std::vector<Tensor> tensor_list(py::handle seq, const char* op) {
  if (py::isinstance<Tensor>(seq))
    throw TypeError(std::string(op) + ": expected a sequence of tensors, got a single Tensor");
  std::vector<Tensor> out;
  for (auto item : py::iter(seq)) {
    if (!py::isinstance<Tensor>(item))
      throw TypeError(std::string(op) + ": expected a sequence of tensors, but element " + std::to_string(out.size()) +
                      " is " + type_name(item));
    out.push_back(item.cast<Tensor>());
  }
  return out;
}

namespace {

struct FactoryOptions {
  DType dtype;
  bool requires_grad;
};

FactoryOptions factory_options(const py::kwargs& kwargs, DType default_dtype) {
  FactoryOptions o{default_dtype, false};
  for (auto item : kwargs) {
    std::string key = py::str(item.first);
    if (key == "dtype") {
      if (!item.second.is_none()) o.dtype = dtype_arg(item.second);
    } else if (key == "requires_grad") {
      o.requires_grad = item.second.cast<bool>();
    } else if (key == "device") {
      std::string dev = py::str(item.second);
      if (dev != "cpu") throw TypeError("backprop runs on the CPU only; got device '" + dev + "'");
    } else {
      throw TypeError("unexpected keyword argument '" + key + "'");
    }
  }
  return o;
}

template <class F>
py::cpp_function shape_factory(F make, const char* name) {
  return py::cpp_function(
      [make, name](py::args args, py::kwargs kwargs) {
        FactoryOptions o = factory_options(kwargs, DType::Float32);
        Tensor t = make(shape_args(args, name), o.dtype);
        if (o.requires_grad) t.requires_grad_(true);
        return t;
      },
      py::name(name));
}

}  // namespace

void bind_dtype_and_factories(py::module_& m) {
  py::enum_<DType> dtype(m, "dtype");
  dtype.value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .value("int64", DType::Int64)
      .value("bool", DType::Bool);
  dtype.def("__repr__", [](DType d) { return std::string("backprop.") + dtype_name(d); });
  dtype.def("__str__", [](DType d) { return std::string("backprop.") + dtype_name(d); });
  dtype.def_property_readonly("is_floating_point", [](DType d) { return is_floating(d); });
  dtype.def_property_readonly("itemsize", [](DType d) { return element_size(d); });

  m.attr("zeros") = shape_factory([](const Shape& s, DType d) { return zeros(s, d); }, "zeros");
  m.attr("ones") = shape_factory([](const Shape& s, DType d) { return ones(s, d); }, "ones");
  m.attr("empty") = shape_factory([](const Shape& s, DType d) { return zeros(s, d); }, "empty");
  m.attr("rand") = shape_factory([](const Shape& s, DType d) { return rand(s, d); }, "rand");
  m.attr("randn") = shape_factory([](const Shape& s, DType d) { return randn(s, d); }, "randn");
  m.def(
      "full",
      [](py::object size, py::object value, py::kwargs kwargs) {
        DType inferred = PyBool_Check(value.ptr()) ? DType::Bool
                         : PyLong_Check(value.ptr()) ? DType::Int64
                                                     : DType::Float32;
        FactoryOptions o = factory_options(kwargs, inferred);
        Shape shape = PyLong_Check(size.ptr()) ? Shape{size.cast<int64_t>()} : size.cast<Shape>();
        Tensor t = full(shape, value.cast<double>(), o.dtype);
        if (o.requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("size"), py::arg("fill_value"));
  m.def(
      "_like",
      [](const Tensor& like, const std::string& kind, double value, py::object dtype, bool requires_grad) {
        DType d = dtype.is_none() ? like.dtype() : dtype_arg(dtype);
        Tensor t;
        if (kind == "zeros") t = zeros(like.shape(), d);
        else if (kind == "ones") t = ones(like.shape(), d);
        else if (kind == "full") t = full(like.shape(), value, d);
        else if (kind == "rand") t = rand(like.shape(), d);
        else t = randn(like.shape(), d);
        if (requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("like"), py::arg("kind"), py::arg("value") = 0.0, py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false);
  m.def(
      "arange",
      [](py::object start, py::object end, py::object step, py::object dtype, bool requires_grad) {
        if (end.is_none()) {
          end = start;
          start = py::int_(0);
        }
        bool all_int = PyLong_Check(start.ptr()) && PyLong_Check(end.ptr()) && PyLong_Check(step.ptr());
        DType d = dtype.is_none() ? (all_int ? DType::Int64 : DType::Float32) : dtype_arg(dtype);
        Tensor t = arange(start.cast<double>(), end.cast<double>(), step.cast<double>(), d);
        if (requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("start"), py::arg("end") = py::none(), py::arg("step") = 1, py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false);
  m.def(
      "randint",
      [](int64_t low, py::object high, py::object size, py::object dtype) {
        if (size.is_none()) throw TypeError("randint: size is required, e.g. randint(0, 10, (3,))");
        Tensor t = high.is_none() ? randint(0, low, size.cast<Shape>()) : randint(low, high.cast<int64_t>(), size.cast<Shape>());
        return dtype.is_none() ? t : t.to(dtype_arg(dtype));
      },
      py::arg("low"), py::arg("high") = py::none(), py::arg("size") = py::none(), py::kw_only(),
      py::arg("dtype") = py::none());
  m.def("manual_seed", &manual_seed, py::arg("seed"));
  m.def("get_rng_state", &get_rng_state);
  m.def("set_rng_state", &set_rng_state, py::arg("state"));
  m.def("memory_stats", []() {
    MemoryStats s = memory_stats();
    py::dict d;
    d["bytes_in_use"] = s.bytes_in_use;
    d["peak_bytes"] = s.peak_bytes;
    d["allocations"] = s.allocations;
    d["allocated_bytes"] = s.allocated_bytes;
    return d;
  });
  m.def("reset_peak_memory_stats", &reset_peak_memory_stats);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def(
      "_set_tensor_converter",
      [](py::object fn) {
        if (!PyCallable_Check(fn.ptr())) throw TypeError("_set_tensor_converter: expected a callable");
        PyObject* previous = g_tensor_converter;
        g_tensor_converter = fn.inc_ref().ptr();
        Py_XDECREF(previous);
      },
      py::arg("fn"), "Called once by the backprop package: the function that turns lists and arrays into tensors.");
  m.def("get_num_threads", &get_num_threads);
}

}  // namespace backprop::python

PYBIND11_MODULE(_core, m, py::mod_gil_not_used()) {
  using namespace backprop;
  using namespace backprop::python;
  m.doc() = "backprop's C++ core: tensors, ops and the autograd engine";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const backprop::ShapeError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const backprop::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const backprop::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const backprop::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const backprop::RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const py::cast_error& e) {
      // An argument of the wrong Python type met an explicit cast inside a binding.
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });
  // Registered after the translator above, so tried before it (SerializationError is a
  // RuntimeError). The type outlives the module, as exception types do.
  static PyObject* serialization_error = PyErr_NewExceptionWithDoc(
      "backprop.SerializationError",
      "A file that backprop.save cannot write or backprop.load cannot read (missing, not a regular "
      "file, truncated, or not a valid safetensors file). The message names the file.",
      PyExc_RuntimeError, nullptr);
  if (!serialization_error) throw py::error_already_set();
  m.attr("SerializationError") = py::handle(serialization_error);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const backprop::SerializationError& e) {
      // A path is bytes and need not be UTF-8: escape what is not, rather than fail to raise.
      std::string_view msg = e.what();
      PyObject* text = PyUnicode_DecodeUTF8(msg.data(), static_cast<Py_ssize_t>(msg.size()), "backslashreplace");
      if (text) {
        PyErr_SetObject(serialization_error, text);
        Py_DECREF(text);
      }
    }
  });

  bind_dtype_and_factories(m);
  py::class_<Tensor> cls(m, "Tensor");
  bind_tensor(m, cls);
  bind_indexing(cls);
  bind_interop(m, cls);
  bind_ops(m, cls);
  bind_nn_ops(m, cls);
  bind_autograd(m);
  bind_optim(m);
  bind_function(m);
  bind_cpu(m);
}
