// x.index(...) and x.index_put_(...) with NumPy/PyTorch rules: integers, slices, None, Ellipsis,
// Int64 tensors and Bool masks. Basic indices give views; advanced ones gather through
// index_select (whose backward scatter-adds), so no new autograd node is needed here.
#include "backprop/indexing.hpp"

#include <algorithm>
#include <string>

#include "backprop/autograd.hpp"
#include "backprop/ops.hpp"
#include "tensor_impl.hpp"
#include "tensor_utils.hpp"

namespace backprop {

namespace indexing {

TensorIndex::TensorIndex(const char* text) : kind_(Kind::Ellipsis) {
  if (text == nullptr || std::string(text) != "...")
    throw TypeError(std::string("index: the only string accepted as an index is \"...\" (Ellipsis), got \"") +
                    (text ? text : "") + "\"");
}

}  // namespace indexing

namespace {

using indexing::TensorIndex;

const Tensor& checked_index_tensor(const TensorIndex& item) {
  const Tensor& t = item.tensor();
  if (!t.defined()) throw TypeError("index: an index tensor is undefined");
  if (t.dtype() != DType::Int64 && t.dtype() != DType::Bool)
    throw IndexError(std::string("tensors used as indices must be long (int64) or bool tensors, got ") +
                     dtype_name(t.dtype()));
  return t;
}

// A 0-d Bool tensor acts as a Python bool: it adds a dim instead of consuming one.
bool is_scalar_mask(const TensorIndex& item) {
  return item.is_tensor() && item.tensor().defined() && item.tensor().dtype() == DType::Bool &&
         item.tensor().dim() == 0;
}

// Python's slice.indices() for a positive step, on a dim of `size`.
void resolve_slice(const indexing::Slice& s, int64_t size, int64_t* start, int64_t* stop, int64_t* step) {
  *step = s.step().value_or(1);
  if (*step <= 0) throw ValueError("index: slice step must be greater than zero, got " + std::to_string(*step));
  auto clip = [size](std::optional<int64_t> v, int64_t absent) {
    if (!v) return absent;
    int64_t x = *v;
    if (x < 0) x = x < -size ? 0 : x + size;
    return std::min(x, size);
  };
  *start = clip(s.start(), 0);
  *stop = std::max(clip(s.stop(), size), *start);
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
  Tensor flat_t = zeros({npos}, DType::Int64);
  int64_t* flat = flat_t.data<int64_t>();
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

IndexResult get_index(const Tensor& self, const std::vector<TensorIndex>& items) {
  // How many dims the items consume, to expand an Ellipsis.
  int64_t consumed = 0;
  bool ellipsis = false;
  for (const TensorIndex& it : items) {
    if (it.is_none() || it.is_boolean() || is_scalar_mask(it)) continue;
    if (it.is_ellipsis()) {
      if (ellipsis) throw IndexError("an index can only have a single ellipsis ('...')");
      ellipsis = true;
      continue;
    }
    if (it.is_tensor()) {
      const Tensor& t = checked_index_tensor(it);
      consumed += t.dtype() == DType::Bool ? t.dim() : 1;
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
  for (const TensorIndex& it : items) {
    if (it.is_none()) {
      x = unsqueeze(x, dim++);
    } else if (it.is_boolean() || is_scalar_mask(it)) {
      bool keep = it.is_boolean() ? it.boolean() : it.tensor().item_int() != 0;
      x = unsqueeze(x, dim);
      if (!keep) x = slice(x, dim, 0, 0, 1);
      ++dim;
    } else if (it.is_ellipsis()) {
      dim += self.dim() - consumed;
    } else if (it.is_slice()) {
      int64_t start, stop, step, size = x.shape()[dim];
      resolve_slice(it.slice(), size, &start, &stop, &step);
      if (!(start == 0 && stop >= size && step == 1)) x = slice(x, dim, start, stop, step);
      ++dim;
    } else if (it.is_integer()) {
      x = select(x, dim, it.integer());
    } else {
      const Tensor& t = checked_index_tensor(it);
      if (t.dtype() == DType::Bool) {
        for (int64_t j = 0; j < t.dim(); ++j)
          if (t.shape()[j] != x.shape()[dim + j])
            throw IndexError("the shape of the mask " + shape_str(t.shape()) + " at index " + std::to_string(j) +
                             " does not match the shape of the indexed tensor " + shape_str(x.shape()));
        Tensor nz = nonzero(t);
        for (int64_t j = 0; j < t.dim(); ++j) adv.emplace_back(dim + j, select(nz, 1, j).contiguous());
        dim += t.dim();
      } else {
        adv.emplace_back(dim++, t);
      }
    }
  }
  if (adv.empty()) {
    if (x.impl() == self.impl()) x = view(self, self.shape());
    return {x, true};
  }
  return {apply_advanced(x, adv), false};
}

}  // namespace

Tensor index(const Tensor& x, const std::vector<indexing::TensorIndex>& indices) {
  if (!x.defined()) throw TypeError("index: the tensor is undefined");
  return get_index(x, indices).value;
}

Tensor& index_put_(Tensor& self, const std::vector<indexing::TensorIndex>& indices, const Tensor& value) {
  if (!self.defined() || !value.defined()) throw TypeError("index_put_: the tensor or the value is undefined");
  check_writable(self, "setitem");
  if (self.dim() == 0 && indices.size() == 1 && indices[0].is_ellipsis()) return self.copy_(value);
  bool grad_involved = is_grad_enabled() && (self.requires_grad() || value.requires_grad());
  if (!grad_involved) {
    NoGradGuard g;
    IndexResult r = get_index(self, indices);
    if (r.is_view) {
      copy_into(r.value, value);
      self.bump_version();
      return self;
    }
  }
  // Write through flat positions: one index_put on the flattened tensor, recorded by autograd.
  Tensor region;
  {
    NoGradGuard g;
    Tensor all = reshape(arange(0, static_cast<double>(self.numel()), 1, DType::Int64), self.shape());
    region = get_index(all, indices).value;
  }
  Tensor positions = reshape(region, {-1});
  Tensor values = expand(value.to(self.dtype()), region.shape());
  Tensor result = reshape(index_put(reshape(self, {-1}), {positions}, reshape(values, {-1})), self.shape());
  if (grad_involved) return assign_inplace(self, result, "setitem");
  NoGradGuard g;
  copy_into(self, result);
  self.bump_version();
  return self;
}

Tensor Tensor::index(const std::vector<indexing::TensorIndex>& indices) const {
  return backprop::index(*this, indices);
}

Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& value) {
  return backprop::index_put_(*this, indices, value);
}

Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& indices, double value) {
  return backprop::index_put_(*this, indices, wrap_scalar(value, *this));
}

}  // namespace backprop
