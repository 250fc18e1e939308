#include "elementwise.hpp"

#include <cmath>

namespace backprop {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ShapeError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                       " cannot be broadcast together (dimension " + std::to_string(i) + ": " + std::to_string(da) +
                       " vs " + std::to_string(db) + ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const Tensor& t, const Shape& shape, const char* op) {
  const Shape& ts = t.shape();
  if (ts.size() > shape.size())
    throw ShapeError(std::string(op) + ": a tensor of shape " + shape_str(ts) + " cannot be broadcast to " +
                     shape_str(shape));
  Shape strides(shape.size(), 0);
  size_t lead = shape.size() - ts.size();
  for (size_t i = 0; i < ts.size(); ++i) {
    if (ts[i] == shape[lead + i])
      strides[lead + i] = ts[i] == 1 ? 0 : t.strides()[i];
    else if (ts[i] != 1)
      throw ShapeError(std::string(op) + ": a tensor of shape " + shape_str(ts) + " cannot be broadcast to " +
                       shape_str(shape));
  }
  return strides;
}

DType promote_types(const Tensor& a, const Tensor& b, const char* op) {
  DType x = a.dtype(), y = b.dtype();
  if (x == y) return x;
  if (is_floating(x) && is_floating(y))
    throw TypeError(std::string(op) + ": expected both operands to have the same dtype, but got " + dtype_name(x) +
                    " and " + dtype_name(y) + "; convert one with .float() or .double()");
  if (is_floating(x)) return x;
  if (is_floating(y)) return y;
  return DType::Int64;
}

Tensor cast_raw(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = make_tensor(t.shape(), dtype);
  copy_into(out, t);
  return out;
}

Tensor wrap_scalar(double value, const Tensor& like) {
  DType dtype = like.dtype();
  if (!is_floating(dtype))
    dtype = (std::floor(value) == value && value >= -0x1p63 && value < 0x1p63) ? DType::Int64 : DType::Float32;
  return scalar_tensor(value, dtype);
}

}  // namespace backprop
