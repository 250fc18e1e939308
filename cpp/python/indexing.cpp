// x[index] and x[index] = value with NumPy/PyTorch rules: integers, slices, None, Ellipsis,
// integer arrays and boolean masks. Basic indices give views; advanced ones gather (and their
// backward scatter-adds through index_select).
#include "../src/ops/elementwise.hpp"
#include "../src/tensor_utils.hpp"
#include "bindings.hpp"

namespace backprop::python {
namespace {

bool is_advanced(py::handle h) {
  return py::isinstance<Tensor>(h) || py::isinstance<py::list>(h) || py::hasattr(h, "__array__");
}

// Turns an index item that is a list, array or tensor into an Int64 or Bool tensor.
Tensor index_tensor(py::handle h) {
  Tensor t;
  if (py::isinstance<Tensor>(h)) {
    t = h.cast<Tensor>();
  } else if (py::isinstance<py::list>(h) && py::len(h) == 0) {
    t = zeros({0}, DType::Int64);  // x[[]]: an empty integer index, as in NumPy and PyTorch
  } else {
    t = py::module_::import("backprop").attr("tensor")(h).cast<Tensor>();
  }
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Bool)
    throw IndexError(std::string("tensors used as indices must be long (int64) or bool tensors, got ") +
                     dtype_name(t.dtype()));
  return t;
}

// Applies advanced indices (dim in `x`, index tensor) to `x`, whose other dims were handled.
Tensor apply_advanced(const Tensor& x, const std::vector<std::pair<int64_t, Tensor>>& adv) {
  Shape bshape = adv[0].second.shape();
  for (const auto& [d, t] : adv) bshape = broadcast_shapes(bshape, t.shape(), "index");
  bool adjacent = true;
  for (size_t i = 1; i < adv.size(); ++i)
    if (adv[i].first != adv[i - 1].first + 1) adjacent = false;

  std::vector<int64_t> perm, rest;
  for (const auto& [d, t] : adv) perm.push_back(d);
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(perm.begin(), perm.end(), d) == perm.end()) rest.push_back(d);
  perm.insert(perm.end(), rest.begin(), rest.end());

  // Flat positions in the indexed dims, bounds-checked.
  int64_t npos = shape_numel(bshape);
  std::vector<int64_t> flat(static_cast<size_t>(npos), 0);
  int64_t stride = 1;
  for (size_t k = adv.size(); k-- > 0;) {
    int64_t d = adv[k].first, size = x.shape()[d];
    Tensor idx = expand(adv[k].second, bshape).contiguous();
    const int64_t* p = idx.data<int64_t>();
    for (int64_t i = 0; i < npos; ++i) {
      int64_t v = p[i];
      if (v < -size || v >= size)
        throw IndexError("index " + std::to_string(v) + " is out of bounds for dimension " + std::to_string(d) +
                         " with size " + std::to_string(size));
      flat[i] += (v < 0 ? v + size : v) * stride;
    }
    stride *= size;
  }
  Tensor flat_t = make_tensor({npos}, DType::Int64);
  std::copy(flat.begin(), flat.end(), flat_t.data<int64_t>());

  Shape folded{stride};
  for (int64_t d : rest) folded.push_back(x.shape()[d]);
  Tensor gathered = index_select(reshape(permute(x, perm), folded), 0, flat_t);
  Shape out_shape = bshape;
  for (int64_t d : rest) out_shape.push_back(x.shape()[d]);
  Tensor out = reshape(gathered, out_shape);
  int64_t first = adv[0].first;
  if (!adjacent || first == 0) return out;
  // Adjacent advanced indices keep their place: move the broadcast dims back to `first`.
  int64_t nb = static_cast<int64_t>(bshape.size()), nr = static_cast<int64_t>(rest.size());
  std::vector<int64_t> order;
  for (int64_t i = 0; i < first; ++i) order.push_back(nb + i);
  for (int64_t i = 0; i < nb; ++i) order.push_back(i);
  for (int64_t i = first; i < nr; ++i) order.push_back(nb + i);
  return permute(out, order);
}

struct IndexResult {
  Tensor value;
  bool is_view;
};

IndexResult get_index(const Tensor& self, py::handle index) {
  py::tuple items = py::isinstance<py::tuple>(index) ? py::reinterpret_borrow<py::tuple>(index) : py::make_tuple(index);
  // How many dims the items consume, to expand an Ellipsis.
  int64_t consumed = 0;
  bool ellipsis = false;
  for (auto it : items) {
    if (it.is_none() || PyBool_Check(it.ptr())) continue;
    if (it.ptr() == Py_Ellipsis) {
      if (ellipsis) throw IndexError("an index can only have a single ellipsis ('...')");
      ellipsis = true;
      continue;
    }
    if (is_advanced(it) && !PyBool_Check(it.ptr())) {
      Tensor t = index_tensor(it);
      consumed += t.dtype() == DType::Bool ? std::max<int64_t>(t.dim(), 1) : 1;
    } else {
      consumed += 1;
    }
  }
  if (consumed > self.dim())
    throw IndexError("too many indices for tensor of dimension " + std::to_string(self.dim()) + " (got " +
                     std::to_string(consumed) + ")");

  Tensor x = self;
  int64_t dim = 0;
  std::vector<std::pair<int64_t, Tensor>> adv;
  for (auto it : items) {
    if (it.is_none()) {
      x = unsqueeze(x, dim++);
    } else if (PyBool_Check(it.ptr())) {
      // x[True] adds a dim of size 1 and x[False] one of size 0, as a 0-d mask does in NumPy.
      x = unsqueeze(x, dim);
      if (it.ptr() == Py_False) x = slice(x, dim, 0, 0, 1);
      ++dim;
    } else if (it.ptr() == Py_Ellipsis) {
      dim += self.dim() - consumed;
    } else if (PySlice_Check(it.ptr())) {
      Py_ssize_t start, stop, step;
      if (PySlice_Unpack(it.ptr(), &start, &stop, &step) < 0) throw py::error_already_set();
      if (step <= 0) throw ShapeError("step must be greater than zero");
      int64_t size = x.shape()[dim];
      PySlice_AdjustIndices(size, &start, &stop, step);
      if (!(start == 0 && stop >= size && step == 1)) x = slice(x, dim, start, std::max<Py_ssize_t>(stop, start), step);
      ++dim;
    } else if (PyLong_Check(it.ptr()) || (py::hasattr(it, "__index__") && !is_advanced(it))) {
      int64_t i = it.cast<int64_t>();
      x = select(x, dim, i);
    } else if (is_advanced(it)) {
      Tensor t = index_tensor(it);
      if (t.dtype() == DType::Bool) {
        int64_t k = std::max<int64_t>(t.dim(), 1);
        for (int64_t j = 0; j < t.dim(); ++j)
          if (t.shape()[j] != x.shape()[dim + j])
            throw IndexError("the shape of the mask " + shape_str(t.shape()) + " at index " + std::to_string(j) +
                             " does not match the shape of the indexed tensor " + shape_str(x.shape()));
        Tensor nz = nonzero(t);
        for (int64_t j = 0; j < k; ++j) adv.emplace_back(dim + j, select(nz, 1, j).contiguous());
        dim += k;
      } else {
        adv.emplace_back(dim++, t);
      }
    } else {
      throw IndexError("only integers, slices (':'), ellipsis ('...'), None and long or bool tensors are valid "
                       "indices, got " + type_name(it));
    }
  }
  if (adv.empty()) {
    if (x.impl() == self.impl()) x = view(self, self.shape());
    return {x, true};
  }
  return {apply_advanced(x, adv), false};
}

void set_index(Tensor& self, py::handle index, py::handle value) {
  check_writable(self, "setitem");
  Tensor v = operand(value, self, "setitem");
  if (self.dim() == 0 && !py::isinstance<py::tuple>(index) && index.ptr() == Py_Ellipsis) {
    self.copy_(v);
    return;
  }
  bool grad_involved = is_grad_enabled() && (self.requires_grad() || v.requires_grad());
  if (!grad_involved) {
    NoGradGuard g;
    IndexResult r = get_index(self, index);
    if (r.is_view) {
      copy_into(r.value, v);
      self.bump_version();
      return;
    }
  }
  // Write through flat positions: one index_put on the flattened tensor, recorded by autograd.
  Tensor region;
  {
    NoGradGuard g;
    Tensor all = reshape(arange(0, static_cast<double>(self.numel()), 1, DType::Int64), self.shape());
    region = get_index(all, index).value;
  }
  Tensor positions = reshape(region, {-1});
  Tensor values = expand(v.to(self.dtype()), region.shape());
  Tensor result = reshape(index_put(reshape(self, {-1}), {positions}, reshape(values, {-1})), self.shape());
  if (grad_involved) {
    assign_inplace(self, result, "setitem");
  } else {
    NoGradGuard g;
    copy_into(self, result);
    self.bump_version();
  }
}

}  // namespace

void bind_indexing(py::class_<Tensor>& cls) {
  cls.def("__getitem__", [](const Tensor& self, py::handle index) { return get_index(self, index).value; });
  cls.def("__setitem__", [](Tensor& self, py::handle index, py::handle value) { set_index(self, index, value); });
}

}  // namespace backprop::python
