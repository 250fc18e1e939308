// diagonal, diag, trace, triu and tril. diagonal copies the diagonal out and its gradient writes it
// back in (DiagonalScatter); each op is the other's backward, so both differentiate again.
#include <algorithm>

#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

struct DiagGeometry {
  Shape shape, strides;
  int64_t offset = 0;
};

// Where the diagonal (offset, dim1, dim2) of a tensor laid out as (shape, strides, base) lies: the
// other dims in order, then the diagonal as the last dim.
DiagGeometry diag_geometry(const Shape& shape, const Shape& strides, int64_t base, int64_t offset, int64_t d1,
                           int64_t d2) {
  DiagGeometry g;
  int64_t n1 = shape[d1], n2 = shape[d2];
  int64_t len = offset >= 0 ? std::min(n1, n2 - offset) : std::min(n1 + offset, n2);
  len = std::max<int64_t>(len, 0);
  g.offset = base;
  if (len > 0) g.offset += offset >= 0 ? offset * strides[d2] : -offset * strides[d1];
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    if (d != d1 && d != d2) {
      g.shape.push_back(shape[d]);
      g.strides.push_back(strides[d]);
    }
  g.shape.push_back(len);
  g.strides.push_back(strides[d1] + strides[d2]);
  return g;
}

void check_diag_dims(int64_t ndim, int64_t* d1, int64_t* d2, const char* op) {
  if (ndim < 2) throw ShapeError(std::string(op) + ": expected a tensor with at least 2 dims, got " + std::to_string(ndim));
  *d1 = wrap_existing_dim(*d1, ndim, op);
  *d2 = wrap_existing_dim(*d2, ndim, op);
  if (*d1 == *d2)
    throw ShapeError(std::string(op) + ": dim1 and dim2 must differ, both are " + std::to_string(*d1));
}

struct DiagonalScatter : OpBase {
  static constexpr const char* kName = "DiagonalBackward0";
  Shape shape_;
  int64_t offset_, d1_, d2_;
  DiagonalScatter(Shape shape, int64_t offset, int64_t d1, int64_t d2)
      : shape_(std::move(shape)), offset_(offset), d1_(d1), d2_(d2) {}
  Tensor forward(const Tensor& src) {
    Tensor out = zeros(shape_, src.dtype());
    DiagGeometry g = diag_geometry(shape_, out.strides(), 0, offset_, d1_, d2_);
    if (g.shape != src.shape())
      throw ShapeError("diagonal_scatter: source of shape " + shape_str(src.shape()) + " does not fit the diagonal " +
                       shape_str(g.shape));
    copy_into(make_view(out, g.shape, g.strides, g.offset), src);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) { return {diagonal(g, offset_, d1_, d2_)}; }
};

struct Diagonal : OpBase {
  static constexpr const char* kName = "DiagonalBackward1";
  Shape in_shape_;
  int64_t offset_, d1_, d2_;
  Diagonal(int64_t offset, int64_t d1, int64_t d2) : offset_(offset), d1_(d1), d2_(d2) {}
  Tensor forward(const Tensor& x) {
    check_diag_dims(x.dim(), &d1_, &d2_, "diagonal");
    in_shape_ = x.shape();
    DiagGeometry g = diag_geometry(x.shape(), x.strides(), x.offset(), offset_, d1_, d2_);
    Tensor out = make_tensor(g.shape, x.dtype());
    copy_into(out, make_view(x, g.shape, g.strides, g.offset));
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {record(DiagonalScatter(in_shape_, offset_, d1_, d2_), g)};
  }
};

// Keeps the elements whose column minus row is at most (lower) or at least (upper) `diagonal`.
Tensor triangle(const Tensor& x, int64_t diagonal, bool lower, const char* op) {
  if (x.dim() < 2)
    throw ShapeError(std::string(op) + ": expected a tensor with at least 2 dims, got shape " + shape_str(x.shape()));
  int64_t rows = x.shape()[x.dim() - 2], cols = x.shape()[x.dim() - 1];
  Tensor mask = make_tensor({rows, cols}, DType::Bool);
  bool* m = mask.data<bool>();
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) m[i * cols + j] = lower ? j - i <= diagonal : j - i >= diagonal;
  return where(mask, x, zeros({}, x.dtype()));
}

}  // namespace

Tensor diagonal(const Tensor& x, int64_t offset, int64_t dim1, int64_t dim2) {
  return record(Diagonal(offset, dim1, dim2), x);
}

Tensor diag(const Tensor& x, int64_t diagonal_index) {
  if (x.dim() == 2) return diagonal(x, diagonal_index, 0, 1);
  if (x.dim() != 1) throw ShapeError("diag: expected a 1-D or 2-D tensor, got shape " + shape_str(x.shape()));
  int64_t n = x.shape()[0] + (diagonal_index < 0 ? -diagonal_index : diagonal_index);
  return record(DiagonalScatter({n, n}, diagonal_index, 0, 1), x);
}

Tensor trace(const Tensor& x) {
  if (x.dim() != 2) throw ShapeError("trace: expected a 2-D tensor, got shape " + shape_str(x.shape()));
  return sum(diagonal(x, 0, 0, 1));
}

Tensor triu(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, false, "triu"); }
Tensor tril(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, true, "tril"); }

}  // namespace backprop
