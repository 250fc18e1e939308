// x[index] and x[index] = value: converts Python index items to backprop::indexing::TensorIndex
// and calls Tensor::index / Tensor::index_put_, where the NumPy rules live.
#include "bindings.hpp"

namespace backprop::python {
namespace {

using indexing::TensorIndex;

bool is_advanced(py::handle h) {
  return py::isinstance<Tensor>(h) || py::isinstance<py::list>(h) || py::hasattr(h, "__array__");
}

// An index item that is a list, array or tensor, as a tensor.
Tensor index_tensor(py::handle h) {
  if (py::isinstance<Tensor>(h)) return h.cast<Tensor>();
  // x[[]]: an empty integer index, as in NumPy and PyTorch (not the float32 an empty list makes).
  if (py::isinstance<py::list>(h) && py::len(h) == 0) return zeros({0}, DType::Int64);
  return to_tensor(h, "index");
}

TensorIndex index_item(py::handle it) {
  if (it.is_none()) return indexing::None;
  if (PyBool_Check(it.ptr())) return TensorIndex(it.ptr() == Py_True);
  if (it.ptr() == Py_Ellipsis) return indexing::Ellipsis;
  if (PySlice_Check(it.ptr())) {
    // PySlice_Unpack fills absent bounds and clips huge ones to the Py_ssize_t range.
    Py_ssize_t start, stop, step;
    if (PySlice_Unpack(it.ptr(), &start, &stop, &step) < 0) throw py::error_already_set();
    return indexing::Slice(start, stop, step);
  }
  if (PyLong_Check(it.ptr()) || (py::hasattr(it, "__index__") && !is_advanced(it))) return TensorIndex(it.cast<int64_t>());
  if (is_advanced(it)) return TensorIndex(index_tensor(it));
  throw IndexError("only integers, slices (':'), ellipsis ('...'), None and long or bool tensors are valid indices, got " +
                   type_name(it));
}

std::vector<TensorIndex> index_items(py::handle index) {
  std::vector<TensorIndex> items;
  if (py::isinstance<py::tuple>(index)) {
    for (auto it : index) items.push_back(index_item(it));
  } else {
    items.push_back(index_item(index));
  }
  return items;
}

}  // namespace

void bind_indexing(py::class_<Tensor>& cls) {
  cls.def("__getitem__", [](const Tensor& self, py::handle index) { return self.index(index_items(index)); });
  cls.def("__setitem__", [](Tensor& self, py::handle index, py::handle value) {
    std::vector<TensorIndex> items = index_items(index);
    self.index_put_(items, operand(value, self, "setitem"));
  });
}

}  // namespace backprop::python
