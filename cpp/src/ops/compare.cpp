// Comparisons and logical ops: Bool results that carry no gradient.
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

template <class F>
Tensor compare(const Tensor& a, const Tensor& b, const char* op, F f) {
  DType dt = promote_types(a, b, op);
  if (dt == DType::Bool) dt = DType::Int64;
  return map_binary(cast_raw(a, dt), cast_raw(b, dt), DType::Bool, op, f);
}

Tensor as_bool(const Tensor& t) { return cast_raw(t, DType::Bool); }

}  // namespace

Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, "lt", [](auto u, auto v) { return u < v; }); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, "le", [](auto u, auto v) { return u <= v; }); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, "gt", [](auto u, auto v) { return u > v; }); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, "ge", [](auto u, auto v) { return u >= v; }); }
Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, "eq", [](auto u, auto v) { return u == v; }); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, "ne", [](auto u, auto v) { return u != v; }); }

Tensor logical_not(const Tensor& a) {
  Tensor f = zeros({}, DType::Bool);
  return map_binary(as_bool(a), f, DType::Bool, "logical_not", [](bool u, bool) { return !u; });
}
Tensor logical_and(const Tensor& a, const Tensor& b) {
  return map_binary(as_bool(a), as_bool(b), DType::Bool, "logical_and", [](bool u, bool v) { return u && v; });
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return map_binary(as_bool(a), as_bool(b), DType::Bool, "logical_or", [](bool u, bool v) { return u || v; });
}

}  // namespace backprop
