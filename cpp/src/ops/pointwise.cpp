// rsqrt, reciprocal, log1p, expm1, log2, log10, erf, atan2 and hypot, plus square, clamp_min,
// clamp_max and masked_fill written over existing ops. Integer inputs compute in float32, as in
// PyTorch. Backward formulas read the saved inputs through differentiable ops, so that a
// recorded backward (create_graph) differentiates again.
#include <cmath>

#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

Tensor as_floating(const Tensor& x) { return is_floating(x.dtype()) ? x : cast_raw(x, DType::Float32); }

enum class Fn { Rsqrt, Reciprocal, Log1p, Expm1, Log2, Log10, Erf };

constexpr const char* backward_name(Fn fn) {
  constexpr const char* names[] = {"RsqrtBackward0", "ReciprocalBackward0", "Log1PBackward0", "Expm1Backward0",
                                   "Log2Backward0",  "Log10Backward0",      "ErfBackward0"};
  return names[static_cast<int>(fn)];
}

template <Fn kFn>
struct UnaryFn : OpBase {
  static constexpr const char* kName = backward_name(kFn);
  static constexpr Fn fn_ = kFn;
  int x_ = -1;
  Tensor forward(const Tensor& x0) {
    Tensor x = as_floating(x0);
    x_ = save(x);
    switch (fn_) {
      case Fn::Rsqrt: return map_unary(x, "rsqrt", [](auto v) { return decltype(v)(1) / std::sqrt(v); });
      case Fn::Reciprocal: return map_unary(x, "reciprocal", [](auto v) { return decltype(v)(1) / v; });
      case Fn::Log1p: return map_unary(x, "log1p", [](auto v) { return std::log1p(v); });
      case Fn::Expm1: return map_unary(x, "expm1", [](auto v) { return std::expm1(v); });
      case Fn::Log2: return map_unary(x, "log2", [](auto v) { return std::log2(v); });
      case Fn::Log10: return map_unary(x, "log10", [](auto v) { return std::log10(v); });
      case Fn::Erf: return map_unary(x, "erf", [](auto v) { return std::erf(v); });
    }
    return x;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor x = saved(x_);
    switch (fn_) {
      case Fn::Rsqrt: return {g * pow(x, -1.5) * -0.5};  // d/dx x^-1/2
      case Fn::Reciprocal: return {neg(g) / (x * x)};
      case Fn::Log1p: return {g / (x + 1.0)};
      case Fn::Expm1: return {g * exp(x)};
      case Fn::Log2: return {g / (x * std::log(2.0))};
      case Fn::Log10: return {g / (x * std::log(10.0))};
      case Fn::Erf: return {g * exp(neg(x * x)) * (2.0 / std::sqrt(M_PI))};
    }
    return {g};
  }
};

// Both operands in one floating dtype (integers promote to float32), for atan2 and hypot.
std::pair<Tensor, Tensor> floating_pair(const Tensor& a, const Tensor& b, const char* op) {
  DType dt = promote_types(a, b, op);
  if (!is_floating(dt)) dt = DType::Float32;
  return {cast_raw(a, dt), cast_raw(b, dt)};
}

struct Atan2 : OpBase {
  static constexpr const char* kName = "Atan2Backward0";
  int y_ = -1, x_ = -1;
  Tensor forward(const Tensor& y0, const Tensor& x0) {
    auto [y, x] = floating_pair(y0, x0, "atan2");
    y_ = save(y);
    x_ = save(x);
    return map_binary(y, x, y.dtype(), "atan2", [](auto a, auto b) { return std::atan2(a, b); });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor y = saved(y_), x = saved(x_);
    Tensor scale = g / (x * x + y * y);
    return {needs(0) ? scale * x : Tensor(), needs(1) ? neg(scale * y) : Tensor()};
  }
};

struct Hypot : OpBase {
  static constexpr const char* kName = "HypotBackward0";
  int a_ = -1, b_ = -1;
  Tensor forward(const Tensor& a0, const Tensor& b0) {
    auto [a, b] = floating_pair(a0, b0, "hypot");
    a_ = save(a);
    b_ = save(b);
    return map_binary(a, b, a.dtype(), "hypot", [](auto u, auto v) { return std::hypot(u, v); });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor a = saved(a_), b = saved(b_);
    Tensor scale = g / hypot(a, b);
    return {needs(0) ? scale * a : Tensor(), needs(1) ? scale * b : Tensor()};
  }
};

}  // namespace

Tensor rsqrt(const Tensor& x) { return record(UnaryFn<Fn::Rsqrt>{}, x); }
Tensor reciprocal(const Tensor& x) { return record(UnaryFn<Fn::Reciprocal>{}, x); }
Tensor log1p(const Tensor& x) { return record(UnaryFn<Fn::Log1p>{}, x); }
Tensor expm1(const Tensor& x) { return record(UnaryFn<Fn::Expm1>{}, x); }
Tensor log2(const Tensor& x) { return record(UnaryFn<Fn::Log2>{}, x); }
Tensor log10(const Tensor& x) { return record(UnaryFn<Fn::Log10>{}, x); }
Tensor erf(const Tensor& x) { return record(UnaryFn<Fn::Erf>{}, x); }
Tensor atan2(const Tensor& y, const Tensor& x) { return record(Atan2{}, y, x); }
Tensor hypot(const Tensor& a, const Tensor& b) { return record(Hypot{}, a, b); }

Tensor square(const Tensor& x) {
  if (x.dtype() == DType::Bool) return x.to(DType::Int64) * x.to(DType::Int64);
  return x * x;
}

Tensor clamp_min(const Tensor& x, double min) { return clamp(x, min, std::nullopt); }
Tensor clamp_max(const Tensor& x, double max) { return clamp(x, std::nullopt, max); }

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  if (mask.dtype() != DType::Bool)
    throw TypeError(std::string("masked_fill: expected a bool mask, got ") + dtype_name(mask.dtype()) +
                    "; compare first, for example x > 0");
  if (value.dim() != 0)
    throw ShapeError("masked_fill: only supports a 0-dimensional value tensor, but got one of shape " +
                     shape_str(value.shape()));
  if (broadcast_shapes(x.shape(), mask.shape(), "masked_fill") != x.shape())
    throw ShapeError("masked_fill: the mask of shape " + shape_str(mask.shape()) +
                     " must broadcast to the input's shape " + shape_str(x.shape()));
  if (is_floating(x.dtype()) && is_floating(value.dtype()) && value.dtype() != x.dtype())
    return where(mask, value.to(x.dtype()), x);
  return where(mask, value.dtype() == x.dtype() ? value : cast_raw(value.detach(), x.dtype()), x);
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  return masked_fill(x, mask, scalar_tensor(value, x.dtype()));
}

}  // namespace backprop
