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

namespace {

// Device types PyTorch knows; all but the CPU are absent here.
const char* const kDeviceTypes[] = {"cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "vulkan", "ipu", "hpu", "mtia", "privateuseone"};

std::string device_string(py::handle h) {
  if (py::isinstance<py::str>(h)) return h.cast<std::string>();
  return py::str(h);
}

bool known_device_type(const std::string& s) {
  std::string type = s.substr(0, s.find(':'));
  for (const char* t : kDeviceTypes)
    if (type == t) return true;
  return false;
}

}  // namespace

bool is_device_arg(py::handle h) {
  if (py::isinstance<py::str>(h)) return known_device_type(h.cast<std::string>());
  return py::hasattr(h, "type") && py::hasattr(h, "index") && !py::isinstance<Tensor>(h);
}

void check_device(py::handle h, const char* op) {
  if (h.is_none()) return;
  if (PyLong_Check(h.ptr()) && !PyBool_Check(h.ptr()))
    throw TypeError(std::string(op) + ": backprop runs on the CPU only; device=" + device_string(h) +
                    " names CUDA device " + device_string(h) + ". Use device='cpu' or leave it out");
  if (!py::isinstance<py::str>(h) && !is_device_arg(h))
    throw TypeError(std::string(op) + ": device must be a string such as 'cpu' or a backprop.device, got " +
                    type_name(h));
  std::string s = device_string(h);
  std::string type = s.substr(0, s.find(':'));
  if (!known_device_type(s))
    throw ValueError(std::string(op) + ": '" + s + "' is not a device; expected 'cpu' (backprop runs on the CPU only)");
  if (type != "cpu")
    throw TypeError(std::string(op) + ": backprop runs on the CPU only; device '" + s +
                    "' is not available (there is no CUDA, MPS or other accelerator support). Use device='cpu' or "
                    "leave it out");
  if (s.size() > 4) {
    std::string index = s.substr(4);
    if (s[3] != ':' || index.empty() || index.find_first_not_of("0123456789") != std::string::npos)
      throw ValueError(std::string(op) + ": '" + s + "' is not a device; expected 'cpu' or 'cpu:<index>'");
  }
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

FactoryOptions factory_options(const py::kwargs& kwargs, DType default_dtype, const char* op) {
  FactoryOptions o{default_dtype, false};
  for (auto item : kwargs) {
    std::string key = py::str(item.first);
    if (key == "dtype") {
      if (!item.second.is_none()) o.dtype = dtype_arg(item.second);
    } else if (key == "requires_grad") {
      if (!PyBool_Check(item.second.ptr()))
        throw TypeError(std::string(op) + ": requires_grad must be a bool, got " + type_name(item.second));
      o.requires_grad = item.second.ptr() == Py_True;
    } else if (key == "device") {
      check_device(item.second, op);
    } else if (key == "pin_memory" || key == "layout" || key == "memory_format") {
      // Accepted for PyTorch compatibility: CPU tensors here are always strided and pageable.
    } else {
      throw TypeError(std::string(op) + "() got an unexpected keyword argument '" + key + "'");
    }
  }
  return o;
}

template <class F>
py::cpp_function shape_factory(F make, const char* name) {
  return py::cpp_function(
      [make, name](py::args args, py::kwargs kwargs) {
        if (kwargs.contains("size")) {  // zeros(size=(2, 3))
          if (args.size() != 0)
            throw TypeError(std::string(name) + ": the shape is given twice, as arguments and as size=");
          args = py::reinterpret_steal<py::args>(py::make_tuple(kwargs["size"]).release());
          PyDict_DelItemString(kwargs.ptr(), "size");
        }
        FactoryOptions o = factory_options(kwargs, DType::Float32, name);
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
        FactoryOptions o = factory_options(kwargs, inferred, "full");
        Shape shape = PyLong_Check(size.ptr()) ? Shape{size.cast<int64_t>()} : size.cast<Shape>();
        Tensor t = full(shape, value.cast<double>(), o.dtype);
        if (o.requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("size"), py::arg("fill_value"));
  m.def(
      "_like",
      [](const Tensor& like, const std::string& kind, double value, py::object dtype, bool requires_grad,
         py::object device, int64_t low, int64_t high) {
        std::string op = kind + "_like";
        check_device(device, op.c_str());
        DType d = dtype.is_none() ? like.dtype() : dtype_arg(dtype);
        Tensor t;
        if (kind == "zeros") t = zeros(like.shape(), d);
        else if (kind == "ones") t = ones(like.shape(), d);
        else if (kind == "empty") t = empty(like.shape(), d);
        else if (kind == "full") t = full(like.shape(), value, d);
        else if (kind == "rand") t = rand(like.shape(), d);
        else if (kind == "randn") t = randn(like.shape(), d);
        else if (kind == "randint") t = randint(low, high, like.shape()).to(d);
        else throw ValueError("_like: unknown kind '" + kind + "'");
        if (requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("like"), py::arg("kind"), py::arg("value") = 0.0, py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none(), py::arg("low") = 0, py::arg("high") = 1);
  m.def(
      "arange",
      [](py::object start, py::object end, py::object step, py::object dtype, bool requires_grad, py::object device) {
        check_device(device, "arange");
        if (end.is_none()) {
          end = start;
          start = py::int_(0);
        }
        for (py::handle a : {start, end, step})
          if (!PyLong_Check(a.ptr()) && !PyFloat_Check(a.ptr()) && !py::hasattr(a, "__float__"))
            throw TypeError("arange: start, end and step must be numbers, got " + type_name(a));
        // Python ints (and bools) give int64, any float gives the default float dtype, as in PyTorch.
        bool all_int = PyLong_Check(start.ptr()) && PyLong_Check(end.ptr()) && PyLong_Check(step.ptr());
        DType d = dtype.is_none() ? (all_int ? DType::Int64 : DType::Float32) : dtype_arg(dtype);
        Tensor t = arange(start.cast<double>(), end.cast<double>(), step.cast<double>(), d);
        if (requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("start"), py::arg("end") = py::none(), py::arg("step") = 1, py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "linspace",
      [](double start, double end, int64_t steps, py::object dtype, bool requires_grad, py::object device) {
        check_device(device, "linspace");
        Tensor t = linspace(start, end, steps, dtype.is_none() ? DType::Float32 : dtype_arg(dtype));
        if (requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("start"), py::arg("end"), py::arg("steps"), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "logspace",
      [](double start, double end, int64_t steps, double base, py::object dtype, bool requires_grad,
         py::object device) {
        check_device(device, "logspace");
        Tensor t = logspace(start, end, steps, base, dtype.is_none() ? DType::Float32 : dtype_arg(dtype));
        if (requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("start"), py::arg("end"), py::arg("steps"), py::arg("base") = 10.0, py::kw_only(),
      py::arg("dtype") = py::none(), py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "eye",
      [](int64_t n, std::optional<int64_t> m_cols, py::object dtype, bool requires_grad, py::object device) {
        check_device(device, "eye");
        if (m_cols && *m_cols < 0) throw ValueError("eye: m must be non-negative, got " + std::to_string(*m_cols));
        Tensor t = eye(n, m_cols ? *m_cols : n, dtype.is_none() ? DType::Float32 : dtype_arg(dtype));
        if (requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("n"), py::arg("m") = py::none(), py::kw_only(), py::arg("dtype") = py::none(),
      py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "randperm",
      [](int64_t n, py::object dtype, bool requires_grad, py::object device) {
        check_device(device, "randperm");
        Tensor t = randperm(n, dtype.is_none() ? DType::Int64 : dtype_arg(dtype));
        if (requires_grad) t.requires_grad_(true);
        return t;
      },
      py::arg("n"), py::kw_only(), py::arg("dtype") = py::none(), py::arg("requires_grad") = false,
      py::arg("device") = py::none());
  m.def(
      "randint",
      [](int64_t low, py::object high, py::object size, py::object dtype, bool requires_grad, py::object device) {
        check_device(device, "randint");
        if (requires_grad) throw TypeError("randint: only floating point tensors can require gradients");
        if (size.is_none() && !high.is_none() && !PyLong_Check(high.ptr())) {
          size = high;  // randint(high, size)
          high = py::none();
        }
        if (size.is_none()) throw TypeError("randint: size is required, e.g. randint(0, 10, (3,))");
        Tensor t = high.is_none() ? randint(0, low, size.cast<Shape>()) : randint(low, high.cast<int64_t>(), size.cast<Shape>());
        return dtype.is_none() ? t : t.to(dtype_arg(dtype));
      },
      py::arg("low"), py::arg("high") = py::none(), py::arg("size") = py::none(), py::kw_only(),
      py::arg("dtype") = py::none(), py::arg("requires_grad") = false, py::arg("device") = py::none());
  m.def(
      "manual_seed",
      [](py::object seed) {
        if (!PyLong_Check(seed.ptr()) || PyBool_Check(seed.ptr()))
          throw TypeError("manual_seed: seed must be an int, got " + type_name(seed));
        // PyTorch takes any int in [-2^63, 2^64) and reinterprets negatives as unsigned.
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(seed.ptr(), &overflow);
        if (overflow > 0) {
          unsigned long long u = PyLong_AsUnsignedLongLong(seed.ptr());
          if (PyErr_Occurred()) {
            PyErr_Clear();
            throw ValueError("manual_seed: seed must be in [-2**63, 2**64), got " + std::string(py::str(seed)));
          }
          manual_seed(u);
        } else if (overflow < 0) {
          throw ValueError("manual_seed: seed must be in [-2**63, 2**64), got " + std::string(py::str(seed)));
        } else {
          manual_seed(static_cast<uint64_t>(v));
        }
      },
      py::arg("seed"));
  m.def("seed", []() { return seed(); }, "Reseeds the default generator from the operating system; returns the seed.");
  m.def("initial_seed", &initial_seed, "The seed the default generator was last seeded with.");
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
  bind_ops_more(m, cls);
  bind_nn_ops(m, cls);
  bind_autograd(m);
  bind_optim(m);
  bind_function(m);
  bind_cpu(m);
  wrap_argument_errors(m);  // last: it wraps everything defined above
}
