// Views (reshape, view, transpose, permute, squeeze, unsqueeze, expand, slice, select, narrow)
// and the copying shape ops cat and stack.
#include <algorithm>
#include <numeric>

#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (infer >= 0) throw ShapeError(std::string(op) + ": only one dimension can be inferred (-1)");
      infer = static_cast<int64_t>(i);
    } else if (out[i] < 0) {
      throw ShapeError(std::string(op) + ": invalid shape dimension " + std::to_string(out[i]));
    } else if (__builtin_mul_overflow(known, out[i], &known)) {
      throw RuntimeError(std::string(op) + ": shape " + shape_str(shape) + ": the size calculation overflowed");
    }
  }
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      throw ShapeError(std::string(op) + ": shape " + shape_str(shape) + " is invalid for input of size " +
                       std::to_string(numel));
    out[infer] = numel / known;
  } else if (known != numel) {
    throw ShapeError(std::string(op) + ": shape " + shape_str(shape) + " is invalid for input of size " +
                     std::to_string(numel));
  }
  return out;
}

// Strides that view `x` as `shape` without copying, or false when the layout forbids it.
bool view_strides(const Tensor& x, const Shape& shape, Shape* strides) {
  const Shape& old_shape = x.shape();
  const Shape& old_strides = x.strides();
  strides->assign(shape.size(), 0);
  if (x.numel() == 0 || old_shape.empty()) {
    *strides = contiguous_strides(shape);
    return true;
  }
  // Walk chunks of old dims that are contiguous among themselves and match them to new dims.
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        (*strides)[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

// Views whose gradient is the incoming gradient reshaped to the input's shape.
struct Reshape : OpBase {
  static constexpr const char* kName = "ViewBackward0";
  Shape shape_, in_shape_;
  explicit Reshape(Shape shape) : shape_(std::move(shape)) {}
  Tensor forward(const Tensor& x) {
    in_shape_ = x.shape();
    Shape strides;
    if (!view_strides(x, shape_, &strides))
      throw ShapeError("view: the size " + shape_str(shape_) + " is not compatible with the input's size " +
                       shape_str(x.shape()) + " and strides " + shape_str(x.strides()) +
                       " (at least one dimension spans two contiguous subspaces); use .reshape(...) instead");
    return view_of(x, shape_, strides, x.offset());
  }
  std::vector<Tensor> backward(const Tensor& g) { return {reshape(g, in_shape_)}; }
};

struct Permute : OpBase {
  static constexpr const char* kName = "PermuteBackward0";
  std::vector<int64_t> dims_;
  explicit Permute(std::vector<int64_t> dims) : dims_(std::move(dims)) {}
  Tensor forward(const Tensor& x) {
    if (static_cast<int64_t>(dims_.size()) != x.dim())
      throw ShapeError("permute: the number of dims " + std::to_string(dims_.size()) +
                       " does not match the tensor's " + std::to_string(x.dim()) + " dims (shape " +
                       shape_str(x.shape()) + ")");
    std::vector<bool> seen(dims_.size(), false);
    Shape shape(dims_.size()), strides(dims_.size());
    for (size_t i = 0; i < dims_.size(); ++i) {
      dims_[i] = wrap_dim(dims_[i], x.dim(), "permute");
      if (seen[dims_[i]]) throw ShapeError("permute: repeated dim " + std::to_string(dims_[i]));
      seen[dims_[i]] = true;
      shape[i] = x.shape()[dims_[i]];
      strides[i] = x.strides()[dims_[i]];
    }
    return view_of(x, shape, strides, x.offset());
  }
  std::vector<Tensor> backward(const Tensor& g) {
    std::vector<int64_t> inverse(dims_.size());
    for (size_t i = 0; i < dims_.size(); ++i) inverse[dims_[i]] = static_cast<int64_t>(i);
    return {permute(g, inverse)};
  }
};

// The template sums the gradient back to the input shape.
struct Expand : OpBase {
  static constexpr const char* kName = "ExpandBackward0";
  Shape shape_;
  explicit Expand(Shape shape) : shape_(std::move(shape)) {}
  Tensor forward(const Tensor& x) {
    if (shape_.size() < static_cast<size_t>(x.dim()))
      throw ShapeError("expand: the number of sizes provided (" + std::to_string(shape_.size()) +
                       ") must be greater or equal to the number of dimensions in the tensor (" +
                       std::to_string(x.dim()) + ")");
    size_t lead = shape_.size() - static_cast<size_t>(x.dim());
    Shape strides(shape_.size(), 0);
    for (size_t i = 0; i < shape_.size(); ++i) {
      if (i < lead) {
        if (shape_[i] < 0) throw ShapeError("expand: -1 is not allowed in a new leading dimension");
        continue;
      }
      int64_t have = x.shape()[i - lead];
      if (shape_[i] == -1) shape_[i] = have;
      if (have == shape_[i]) {
        strides[i] = x.strides()[i - lead];
      } else if (have != 1) {
        throw ShapeError("expand: the expanded size of the tensor (" + std::to_string(shape_[i]) +
                         ") must match the existing size (" + std::to_string(have) + ") at non-singleton dimension " +
                         std::to_string(i) + "; target sizes " + shape_str(shape_) + ", tensor sizes " +
                         shape_str(x.shape()));
      }
    }
    return view_of(x, shape_, strides, x.offset());
  }
  std::vector<Tensor> backward(const Tensor& g) { return {g}; }
};

// slice/select/narrow: the gradient lands in the viewed region of a zero tensor.
struct Slice : OpBase {
  static constexpr const char* kName = "SliceBackward0";
  int64_t dim_, start_, end_, step_;
  bool select_;
  Shape in_shape_;
  Slice(int64_t dim, int64_t start, int64_t end, int64_t step, bool select)
      : dim_(dim), start_(start), end_(end), step_(step), select_(select) {}
  Tensor forward(const Tensor& x) { return region(x); }
  Tensor region(const Tensor& x) {
    const char* op = select_ ? "select" : "slice";
    if (x.dim() == 0) throw IndexError(std::string(op) + ": cannot index a 0-d tensor; use .item()");
    dim_ = wrap_dim(dim_, x.dim(), op);
    in_shape_ = x.shape();
    int64_t size = x.shape()[dim_];
    Shape shape = x.shape(), strides = x.strides();
    int64_t offset = x.offset();
    if (select_) {
      int64_t i = start_ < 0 ? start_ + size : start_;
      if (i < 0 || i >= size)
        throw IndexError("index " + std::to_string(start_) + " is out of bounds for dimension " + std::to_string(dim_) +
                         " with size " + std::to_string(size));
      start_ = i;
      offset += i * strides[dim_];
      shape.erase(shape.begin() + dim_);
      strides.erase(strides.begin() + dim_);
      return view_of(x, shape, strides, offset);
    }
    if (step_ <= 0) throw ValueError("slice: step must be positive, got " + std::to_string(step_));
    int64_t b = start_ < 0 ? start_ + size : start_, e = end_ < 0 ? end_ + size : end_;
    b = std::clamp<int64_t>(b, 0, size);
    e = std::clamp<int64_t>(e, b, size);
    start_ = b;
    end_ = e;
    shape[dim_] = (e - b + step_ - 1) / step_;
    offset += b * strides[dim_];
    strides[dim_] *= step_;
    return view_of(x, shape, strides, offset);
  }
  std::vector<Tensor> backward(const Tensor& g);
};

// Slice's backward as an op: g written into the sliced region of zeros. A recorded backward
// (create_graph) uses it, and its own backward is the slice again.
struct SliceScatter : OpBase {
  static constexpr const char* kName = "SliceScatterBackward0";
  Slice geometry_;
  explicit SliceScatter(const Slice& geometry) : geometry_(geometry) {}
  Tensor forward(const Tensor& g) {
    Tensor z = zeros(geometry_.in_shape_, g.dtype());
    Slice geometry = geometry_;
    copy_into(geometry.region(z), g);
    return z;
  }
  std::vector<Tensor> backward(const Tensor& gg) {
    const Slice& s = geometry_;
    return {record(Slice(s.dim_, s.start_, s.end_, s.step_, s.select_), gg)};
  }
};

std::vector<Tensor> Slice::backward(const Tensor& g) {
  Slice geometry(dim_, start_, end_, step_, select_);
  geometry.in_shape_ = in_shape_;
  if (is_grad_enabled()) return {record(SliceScatter(geometry), g)};
  Tensor z = zeros(in_shape_, g.dtype());
  copy_into(geometry.region(z), g);
  return {z};
}

struct Cat : OpBase {
  static constexpr const char* kName = "CatBackward0";
  int64_t dim_;
  std::vector<int64_t> sizes_;
  explicit Cat(int64_t dim) : dim_(dim) {}
  Tensor forward(const std::vector<Tensor>& xs) {
    if (xs.empty()) throw ValueError("cat: expected a non-empty list of tensors");
    const Tensor& first = xs[0];
    if (first.dim() == 0) throw ShapeError("cat: zero-dimensional tensor (at position 0) cannot be concatenated");
    dim_ = wrap_dim(dim_, first.dim(), "cat");
    DType dt = first.dtype();
    Shape shape = first.shape();
    int64_t total = 0;
    for (size_t i = 0; i < xs.size(); ++i) {
      const Tensor& t = xs[i];
      if (t.dtype() != dt)
        throw TypeError(std::string("cat: expected all tensors to have dtype ") + dtype_name(dt) + ", but tensor " +
                        std::to_string(i) + " has " + dtype_name(t.dtype()));
      if (t.dim() != first.dim())
        throw ShapeError("cat: tensors must have the same number of dimensions: got " + shape_str(first.shape()) +
                         " and " + shape_str(t.shape()) + " at position " + std::to_string(i));
      for (int64_t d = 0; d < t.dim(); ++d)
        if (d != dim_ && t.shape()[d] != shape[d])
          throw ShapeError("cat: sizes of tensors must match except in dimension " + std::to_string(dim_) + ": got " +
                           shape_str(first.shape()) + " and " + shape_str(t.shape()) + " at position " +
                           std::to_string(i));
      sizes_.push_back(t.shape()[dim_]);
      total += t.shape()[dim_];
    }
    shape[dim_] = total;
    Tensor out = make_tensor(shape, dt);
    int64_t at = 0;
    for (const Tensor& t : xs) {
      copy_into(narrow(out, dim_, at, t.shape()[dim_]), t);
      at += t.shape()[dim_];
    }
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    std::vector<Tensor> grads;
    int64_t at = 0;
    for (size_t i = 0; i < sizes_.size(); ++i) {
      grads.push_back(needs(i) ? narrow(g, dim_, at, sizes_[i]) : Tensor());
      at += sizes_[i];
    }
    return grads;
  }
};

}  // namespace

Tensor view(const Tensor& x, const Shape& shape) { return record(Reshape(infer_shape(shape, x.numel(), "view")), x); }

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape target = infer_shape(shape, x.numel(), "reshape");
  Shape strides;
  if (view_strides(x, target, &strides)) return record(Reshape(target), x);
  return record(Reshape(target), x.clone());
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  int64_t s = wrap_dim(start_dim, x.dim(), "flatten"), e = wrap_dim(end_dim, x.dim(), "flatten");
  if (s > e) throw ShapeError("flatten: start_dim cannot come after end_dim");
  Shape shape(x.shape().begin(), x.shape().begin() + s);
  int64_t n = 1;
  for (int64_t d = s; d <= e; ++d) n *= x.shape()[d];
  shape.push_back(n);
  shape.insert(shape.end(), x.shape().begin() + e + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) { return record(Permute(dims), x); }

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  if (x.dim() == 0) return record(Permute({}), x);
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[wrap_dim(dim0, x.dim(), "transpose")], dims[wrap_dim(dim1, x.dim(), "transpose")]);
  return record(Permute(dims), x);
}

Tensor squeeze(const Tensor& x) {
  Shape shape;
  for (int64_t s : x.shape())
    if (s != 1) shape.push_back(s);
  return record(Reshape(shape), x);
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  if (x.dim() == 0) return record(Reshape({}), x);
  int64_t d = wrap_dim(dim, x.dim(), "squeeze");
  Shape shape = x.shape();
  if (shape[d] == 1) shape.erase(shape.begin() + d);
  return record(Reshape(shape), x);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  shape.insert(shape.begin() + d, 1);
  return record(Reshape(shape), x);
}

Tensor expand(const Tensor& x, const Shape& shape) { return record(Expand(shape), x); }

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  return record(Slice(dim, start, end, step, false), x);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) { return record(Slice(dim, index, 0, 1, true), x); }

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  int64_t d = wrap_existing_dim(dim, x.dim(), "narrow");
  int64_t size = x.shape()[d];
  int64_t s = start < 0 ? start + size : start;
  if (s < 0 || length < 0 || s + length > size)
    throw IndexError("narrow: start (" + std::to_string(start) + ") + length (" + std::to_string(length) +
                     ") exceeds dimension size (" + std::to_string(size) + ")");
  return record(Slice(d, s, s + length, 1, false), x);
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) { return record_list(Cat(dim), tensors); }

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  if (tensors.empty()) throw ValueError("stack: expected a non-empty list of tensors");
  int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].shape() != tensors[0].shape())
      throw ShapeError("stack: expects each tensor to be equal size, but got " + shape_str(tensors[0].shape()) +
                       " at entry 0 and " + shape_str(tensors[i].shape()) + " at entry " + std::to_string(i));
    parts.push_back(unsqueeze(tensors[i], d));
  }
  return cat(parts, d);
}

}  // namespace backprop
