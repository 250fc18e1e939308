// Integer indexing: index_select, gather, index_put and nonzero. Backward scatter-adds.
#include "../kernels/index.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

void check_index_dtype(const Tensor& index, const char* op) {
  if (index.dtype() != DType::Int64)
    throw TypeError(std::string(op) + ": expected an int64 index tensor, got " + dtype_name(index.dtype()));
}

int64_t checked_index(int64_t i, int64_t size, int64_t dim, const char* op) {
  if (i < -size || i >= size)
    throw IndexError(std::string(op) + ": index " + std::to_string(i) + " is out of bounds for dimension " +
                     std::to_string(dim) + " with size " + std::to_string(size));
  return i < 0 ? i + size : i;
}

struct Layout {
  int64_t outer = 1, size = 1, inner = 1;
};
Layout layout_around(const Shape& shape, int64_t dim) {
  Layout l;
  for (int64_t d = 0; d < dim; ++d) l.outer *= shape[d];
  l.size = shape.empty() ? 1 : shape[dim];
  for (int64_t d = dim + 1; d < static_cast<int64_t>(shape.size()); ++d) l.inner *= shape[d];
  return l;
}

// index_select's backward (rows of g added into zeros) as an op, for recorded backward passes:
// its own backward is index_select again.
struct IndexAddRows : OpBase {
  static constexpr const char* kName = "IndexAddBackward0";
  int64_t dim_;
  Shape shape_;
  int index_ = -1;
  IndexAddRows(int64_t dim, Shape shape) : dim_(dim), shape_(std::move(shape)) {}
  Tensor forward(const Tensor& g, const Tensor& index) {
    index_ = save(index);
    Tensor out = zeros(shape_, g.dtype());
    Tensor gc = g.contiguous();
    Layout l = layout_around(shape_, dim_);
    BP_DISPATCH_FLOATING(g.dtype(), "index_select_backward", {
      kernels::add_rows(gc.data<scalar_t>(), out.data<scalar_t>(), index.data<int64_t>(), index.numel(), l.outer,
                        l.size, l.inner);
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& gg) { return {index_select(gg, dim_, saved(index_)), Tensor()}; }
};

// gather's backward (scatter-add into zeros) as an op; its own backward is gather again.
struct GatherScatterAdd : OpBase {
  static constexpr const char* kName = "ScatterAddBackward0";
  int64_t dim_;
  Shape shape_;
  int index_ = -1;
  GatherScatterAdd(int64_t dim, Shape shape) : dim_(dim), shape_(std::move(shape)) {}
  Tensor forward(const Tensor& g, const Tensor& index) {
    index_ = save(index);
    Tensor out = zeros(shape_, g.dtype());
    Tensor gc = g.contiguous();
    Shape xs = contiguous_strides(shape_);
    BP_DISPATCH_FLOATING(g.dtype(), "gather_backward", {
      kernels::gather_backward(gc.data<scalar_t>(), out.data<scalar_t>(), index.data<int64_t>(),
                               index.shape().data(), xs.data(), index.dim(), dim_, index.numel());
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& gg) { return {gather(gg, dim_, saved(index_)), Tensor()}; }
};

struct IndexSelect : OpBase {
  static constexpr const char* kName = "IndexSelectBackward0";
  int64_t dim_;
  Shape in_shape_;
  int index_ = -1;  // the checked (wrapped) indices, saved
  explicit IndexSelect(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& x, const Tensor& index) {
    check_index_dtype(index, "index_select");
    if (index.dim() > 1) throw ShapeError("index_select: index must be 0-d or 1-d, got shape " + shape_str(index.shape()));
    dim_ = wrap_dim(dim_, x.dim(), "index_select");
    in_shape_ = x.shape();
    Layout l = layout_around(x.shape(), dim_);
    std::vector<int64_t> idx = index.to_int_vector();
    if (x.dim() == 0 && idx.size() != 1)
      throw IndexError("index_select: the index of a 0-d tensor must have exactly one element, got " +
                       std::to_string(idx.size()));
    for (auto& i : idx) i = checked_index(i, l.size, dim_, "index_select");
    Tensor checked = make_tensor({static_cast<int64_t>(idx.size())}, DType::Int64);
    std::copy(idx.begin(), idx.end(), checked.data<int64_t>());
    index_ = save(checked);
    Shape shape = x.shape();
    if (!shape.empty()) shape[dim_] = static_cast<int64_t>(idx.size());
    Tensor out = make_tensor(shape, x.dtype());
    Tensor xc = x.contiguous();
    BP_DISPATCH_ALL(x.dtype(), "index_select", {
      kernels::take_rows(xc.data<scalar_t>(), out.data<scalar_t>(), idx.data(), static_cast<int64_t>(idx.size()), l.outer,
                l.size, l.inner);
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    if (is_grad_enabled()) return {record(IndexAddRows(dim_, in_shape_), g, saved(index_)), Tensor()};
    Tensor out = zeros(in_shape_, g.dtype());
    Tensor gc = g.contiguous();
    Tensor index = saved(index_);
    Layout l = layout_around(in_shape_, dim_);
    BP_DISPATCH_FLOATING(g.dtype(), "index_select_backward", {
      kernels::add_rows(gc.data<scalar_t>(), out.data<scalar_t>(), index.data<int64_t>(), index.numel(), l.outer, l.size,
               l.inner);
    });
    return {out, Tensor()};
  }
};

struct Gather : OpBase {
  static constexpr const char* kName = "GatherBackward0";
  int64_t dim_;
  Shape in_shape_;
  int index_ = -1;  // a private, checked copy of the index, saved
  explicit Gather(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& x, const Tensor& index) {
    check_index_dtype(index, "gather");
    if (index.dim() != x.dim())
      throw ShapeError("gather: index " + shape_str(index.shape()) + " must have as many dims as the input " +
                       shape_str(x.shape()));
    dim_ = wrap_dim(dim_, x.dim(), "gather");
    for (int64_t d = 0; d < x.dim(); ++d)
      if (d != dim_ && index.shape()[d] > x.shape()[d])
        throw ShapeError("gather: index " + shape_str(index.shape()) + " is larger than the input " +
                         shape_str(x.shape()) + " in dimension " + std::to_string(d));
    in_shape_ = x.shape();
    Tensor checked = index.contiguous().clone();
    int64_t* ip = checked.data<int64_t>();
    int64_t size = x.dim() == 0 ? 1 : x.shape()[dim_];
    for (int64_t k = 0; k < checked.numel(); ++k) ip[k] = checked_index(ip[k], size, dim_, "gather");
    index_ = save(checked);
    Tensor xc = x.contiguous();
    Tensor out = make_tensor(index.shape(), x.dtype());
    Shape xs = contiguous_strides(in_shape_);
    BP_DISPATCH_ALL(x.dtype(), "gather", {
      kernels::gather(xc.data<scalar_t>(), out.data<scalar_t>(), ip, checked.shape().data(), xs.data(),
                      checked.dim(), dim_, checked.numel());
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor index = saved(index_);
    if (is_grad_enabled()) return {record(GatherScatterAdd(dim_, in_shape_), g, index), Tensor()};
    Tensor out = zeros(in_shape_, g.dtype());
    Tensor gc = g.contiguous();
    Shape xs = contiguous_strides(in_shape_);
    BP_DISPATCH_FLOATING(g.dtype(), "gather_backward", {
      kernels::gather_backward(gc.data<scalar_t>(), out.data<scalar_t>(), index.data<int64_t>(),
                               index.shape().data(), xs.data(), index.dim(), dim_, index.numel());
    });
    return {out, Tensor()};
  }
};

// out = x with values written (or added) at the positions named by one index per leading dim.
struct IndexPut : OpBase {
  static constexpr const char* kName = "IndexPutBackward0";
  bool accumulate_;
  std::vector<int64_t> offsets_;  // element offsets into x's contiguous layout, one per value row
  int64_t row_ = 1;               // elements per indexed position (trailing dims)
  Shape values_shape_;  // positions shape followed by the trailing dims
  size_t inputs_ = 0;
  explicit IndexPut(bool accumulate) : accumulate_(accumulate) {}
  Tensor forward(const std::vector<Tensor>& in) {
    const Tensor& x = in[0];
    const Tensor& values = in[1];
    size_t k = in.size() - 2;
    if (k == 0 || static_cast<int64_t>(k) > x.dim())
      throw IndexError("index_put: got " + std::to_string(k) + " index tensors for a tensor of shape " + shape_str(x.shape()));
    Shape bshape = in[2].shape();
    for (size_t i = 0; i < k; ++i) {
      check_index_dtype(in[2 + i], "index_put");
      bshape = broadcast_shapes(bshape, in[2 + i].shape(), "index_put");
    }
    inputs_ = in.size();
    int64_t npos = shape_numel(bshape);
    Shape xs = contiguous_strides(x.shape());
    row_ = 1;
    for (int64_t d = static_cast<int64_t>(k); d < x.dim(); ++d) row_ *= x.shape()[d];
    offsets_.assign(static_cast<size_t>(npos), 0);
    for (size_t i = 0; i < k; ++i) {
      Tensor idx = expand(in[2 + i], bshape).contiguous();
      const int64_t* ip = idx.data<int64_t>();
      for (int64_t p = 0; p < npos; ++p)
        offsets_[p] += checked_index(ip[p], x.shape()[i], static_cast<int64_t>(i), "index_put") * xs[i];
    }
    values_shape_ = bshape;
    values_shape_.insert(values_shape_.end(), x.shape().begin() + static_cast<int64_t>(k), x.shape().end());
    DType dt = x.dtype();
    Tensor v = expand(cast_raw(values, dt), values_shape_).contiguous();
    Tensor out = x.clone();
    BP_DISPATCH_ALL(dt, "index_put", {
      kernels::index_put_rows(out.data<scalar_t>(), v.data<scalar_t>(), offsets_.data(), npos, row_, accumulate_);
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    if (is_grad_enabled() && row_ > 0) return differentiable_backward(g);
    Tensor gc = g.contiguous();
    std::vector<Tensor> grads(inputs_);
    int64_t npos = static_cast<int64_t>(offsets_.size());
    if (needs(1)) {
      Tensor gv = make_tensor(values_shape_, g.dtype());
      BP_DISPATCH_FLOATING(g.dtype(), "index_put_backward", {
        kernels::take_offset_rows(gc.data<scalar_t>(), gv.data<scalar_t>(), offsets_.data(), npos, row_);
      });
      grads[1] = gv;
    }
    if (needs(0)) {
      Tensor gx = gc.clone();
      if (!accumulate_) {
        BP_DISPATCH_FLOATING(g.dtype(), "index_put_backward", {
          kernels::zero_offset_rows(gx.data<scalar_t>(), offsets_.data(), npos, row_);
        });
      }
      grads[0] = gx;
    }
    return grads;
  }
  // For a recorded backward: the values' gradient gathers whole rows of g (index_select, which
  // differentiates again), and x's gradient is g times a constant mask of the rows not written.
  std::vector<Tensor> differentiable_backward(const Tensor& g) {
    std::vector<Tensor> grads(inputs_);
    int64_t npos = static_cast<int64_t>(offsets_.size());
    if (needs(1)) {
      Tensor rows = make_tensor({npos}, DType::Int64);
      for (int64_t p = 0; p < npos; ++p) rows.data<int64_t>()[p] = offsets_[static_cast<size_t>(p)] / row_;
      grads[1] = reshape(index_select(reshape(g, {g.numel() / row_, row_}), 0, rows), values_shape_);
    }
    if (needs(0)) {
      if (accumulate_) {
        grads[0] = g;
      } else {
        Tensor keep = ones(g.shape(), g.dtype());
        BP_DISPATCH_FLOATING(g.dtype(), "index_put_backward", {
          kernels::zero_offset_rows(keep.data<scalar_t>(), offsets_.data(), npos, row_);
        });
        grads[0] = g * keep;
      }
    }
    return grads;
  }
};

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) { return record(IndexSelect(dim), x, index); }
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) { return record(Gather(dim), x, index); }

Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate) {
  std::vector<Tensor> in{x, values};
  in.insert(in.end(), indices.begin(), indices.end());
  return record_list(IndexPut(accumulate), in);
}

Tensor nonzero(const Tensor& x) {
  Tensor c = x.contiguous();
  std::vector<int64_t> hits;
  BP_DISPATCH_ALL(x.dtype(), "nonzero", {
    const scalar_t* p = c.data<scalar_t>();
    for (int64_t i = 0; i < c.numel(); ++i)
      if (p[i] != scalar_t(0)) hits.push_back(i);
  });
  int64_t nd = x.dim();
  Tensor out = make_tensor({static_cast<int64_t>(hits.size()), nd}, DType::Int64);
  Shape strides = contiguous_strides(x.shape());
  int64_t* op = out.data<int64_t>();
  for (size_t h = 0; h < hits.size(); ++h) {
    int64_t rem = hits[h];
    for (int64_t d = 0; d < nd; ++d) {
      op[h * nd + d] = rem / strides[d];
      rem %= strides[d];
    }
  }
  return out;
}

}  // namespace backprop
