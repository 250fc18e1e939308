// round, floor, ceil, trunc and sign: piecewise-constant ops. Their gradient is zero almost
// everywhere (PyTorch's convention, also at the jumps); integer inputs keep their dtype.
#include <cmath>

#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

enum class Rounding { Round, Floor, Ceil, Trunc, Sign };

const char* rounding_name(Rounding kind) {
  switch (kind) {
    case Rounding::Round: return "round";
    case Rounding::Floor: return "floor";
    case Rounding::Ceil: return "ceil";
    case Rounding::Trunc: return "trunc";
    case Rounding::Sign: return "sign";
  }
  return "round";
}

template <class T>
T sign_of(T v) {
  return static_cast<T>((T(0) < v) - (v < T(0)));  // NaN compares false both ways: 0, as in PyTorch
}

Tensor integral_result(const Tensor& x, Rounding kind) {
  if (kind != Rounding::Sign || x.dtype() == DType::Bool) return x.contiguous().clone();
  Tensor out = make_tensor(x.shape(), DType::Int64);
  Tensor xc = x.contiguous();
  const int64_t* p = xc.data<int64_t>();
  int64_t* q = out.data<int64_t>();
  for (int64_t i = 0; i < x.numel(); ++i) q[i] = sign_of(p[i]);
  return out;
}

constexpr const char* backward_name(Rounding kind) {
  constexpr const char* names[] = {"RoundBackward0", "FloorBackward0", "CeilBackward0", "TruncBackward0",
                                   "SignBackward0"};
  return names[static_cast<int>(kind)];
}

template <Rounding kKind>
struct RoundingOp : OpBase {
  static constexpr const char* kName = backward_name(kKind);
  static constexpr Rounding kind_ = kKind;
  int64_t decimals_;
  explicit RoundingOp(int64_t decimals) : decimals_(decimals) {}
  Tensor forward(const Tensor& x) {
    const char* op = rounding_name(kind_);
    if (!is_floating(x.dtype())) {
      if (decimals_ != 0)
        throw TypeError(std::string("round: decimals is only supported for floating tensors, got ") +
                        dtype_name(x.dtype()) + "; convert with .float() first");
      return integral_result(x, kind_);
    }
    switch (kind_) {
      case Rounding::Floor: return map_unary(x, op, [](auto v) { return std::floor(v); });
      case Rounding::Ceil: return map_unary(x, op, [](auto v) { return std::ceil(v); });
      case Rounding::Trunc: return map_unary(x, op, [](auto v) { return std::trunc(v); });
      case Rounding::Sign: return map_unary(x, op, [](auto v) { return sign_of(v); });
      case Rounding::Round: break;
    }
    // Half to even, as PyTorch and NumPy round; decimals scale by a power of ten first (negative
    // decimals round to tens, hundreds, ...).
    if (decimals_ == 0) return map_unary(x, op, [](auto v) { return std::nearbyint(v); });
    double ten = std::pow(10.0, static_cast<double>(decimals_ > 0 ? decimals_ : -decimals_));
    bool up = decimals_ > 0;
    return map_unary(x, op, [ten, up](auto v) {
      using T = decltype(v);
      T s = static_cast<T>(ten);
      return up ? std::nearbyint(v * s) / s : std::nearbyint(v / s) * s;
    });
  }
  std::vector<Tensor> backward(const Tensor& g) { return {zeros_like(g)}; }
};

}  // namespace

Tensor round(const Tensor& x, int64_t decimals) { return record(RoundingOp<Rounding::Round>(decimals), x); }
Tensor floor(const Tensor& x) { return record(RoundingOp<Rounding::Floor>(0), x); }
Tensor ceil(const Tensor& x) { return record(RoundingOp<Rounding::Ceil>(0), x); }
Tensor trunc(const Tensor& x) { return record(RoundingOp<Rounding::Trunc>(0), x); }
Tensor sign(const Tensor& x) { return record(RoundingOp<Rounding::Sign>(0), x); }

}  // namespace backprop
