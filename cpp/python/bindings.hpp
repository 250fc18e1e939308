#pragma once
// Shared declarations for the pybind11 module: one bind_* function per area, and the argument
// conversions every area uses.
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <vector>

#include "backprop/backprop.hpp"

namespace py = pybind11;

// Shapes convert to and from Python sequences of ints, as the std::vector they replaced did.
namespace pybind11::detail {
template <>
struct type_caster<backprop::Shape> : list_caster<backprop::Shape, int64_t> {};
}  // namespace pybind11::detail

namespace backprop::python {

void bind_dtype_and_factories(py::module_& m);
void bind_tensor(py::module_& m, py::class_<Tensor>& cls);
void bind_ops(py::module_& m, py::class_<Tensor>& cls);
void bind_ops_more(py::module_& m, py::class_<Tensor>& cls);
void bind_nn_ops(py::module_& m, py::class_<Tensor>& cls);
void bind_autograd(py::module_& m);
void bind_indexing(py::class_<Tensor>& cls);
void bind_interop(py::module_& m, py::class_<Tensor>& cls);
void bind_optim(py::module_& m);
void bind_function(py::module_& m);
void bind_cpu(py::module_& m);
/// Wraps every function, method and property of the module so that pybind11's own messages for
/// arguments of the wrong type ("incompatible function arguments", "Unable to cast ... to C++
/// type") reach users as a TypeError naming the function, the types it got and what it takes.
/// Runs last, over whatever the bind_* functions defined.
void wrap_argument_errors(py::module_& m);

/// A new tensor from a list, tuple or array, through the converter the package registered.
Tensor to_tensor(py::handle h, const char* op);
/// A Tensor, or a Python number turned into a 0-d tensor that suits `like`.
Tensor operand(py::handle h, const Tensor& like, const char* op);
/// dim arguments: None (all), an int, or a sequence of ints.
std::vector<int64_t> dims_arg(py::handle dim);
/// Shape arguments given either as one sequence or as several ints (`x.view(2, 3)`).
Shape shape_args(const py::args& args, const char* op);
/// A DType from backprop.dtype, a NumPy dtype or a string such as "float32".
DType dtype_arg(py::handle h);
/// Whether `h` names a device: a backprop.device or a string such as "cpu", "cpu:0", "cuda".
bool is_device_arg(py::handle h);
/// Accepts None and the CPU in every spelling ("cpu", "cpu:0", backprop.device("cpu")); raises
/// TypeError naming `op` for any other device (backprop is CPU-only).
void check_device(py::handle h, const char* op);
/// Runs f() with the GIL released when `work` (multiply-adds or elements) is large enough that
/// other Python threads should run meanwhile; small calls keep it, a release costs more than them.
template <class F>
auto release_gil_if(int64_t work, F&& f) {
  if (work >= (int64_t{1} << 18)) {
    py::gil_scoped_release release;
    return f();
  }
  return f();
}
/// matmul with the GIL released for large products.
inline Tensor matmul_released(const Tensor& a, const Tensor& b) {
  int64_t work = a.numel() * (b.dim() >= 2 ? b.shape().back() : 1);
  return release_gil_if(work, [&] { return matmul(a, b); });
}

/// The Python type name of `h`, for error messages.
inline std::string type_name(py::handle h) { return Py_TYPE(h.ptr())->tp_name; }
/// Tensors from any Python sequence of tensors.
std::vector<Tensor> tensor_list(py::handle seq, const char* op);

}  // namespace backprop::python
