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

namespace backprop::python {

void bind_dtype_and_factories(py::module_& m);
void bind_tensor(py::module_& m, py::class_<Tensor>& cls);
void bind_ops(py::module_& m, py::class_<Tensor>& cls);
void bind_autograd(py::module_& m);
void bind_indexing(py::class_<Tensor>& cls);
void bind_interop(py::module_& m, py::class_<Tensor>& cls);
void bind_optim(py::module_& m);
void bind_cpu(py::module_& m);

/// A Tensor, or a Python number turned into a 0-d tensor that suits `like`.
Tensor operand(py::handle h, const Tensor& like, const char* op);
/// dim arguments: None (all), an int, or a sequence of ints.
std::vector<int64_t> dims_arg(py::handle dim);
/// Shape arguments given either as one sequence or as several ints (`x.view(2, 3)`).
Shape shape_args(const py::args& args, const char* op);
/// A DType from backprop.dtype, a NumPy dtype or a string such as "float32".
DType dtype_arg(py::handle h);
/// Tensors from any Python sequence of tensors.
std::vector<Tensor> tensor_list(py::handle seq, const char* op);

}  // namespace backprop::python
