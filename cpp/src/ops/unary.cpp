// exp, log, sqrt, abs, sin, cos, clamp. Integer inputs compute in float32, as in PyTorch.
#include <cmath>
#include <type_traits>

#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

Tensor floating(const Tensor& x) { return is_floating(x.dtype()) ? x : cast_raw(x, DType::Float32); }

// out[i] = f(x[i]) in x's own dtype, int64 included: abs and clamp keep integer tensors integral.
template <class F>
Tensor map_unary_numeric(const Tensor& x, const char* op, F f) {
  Tensor out = make_tensor(x.shape(), x.dtype());
  if (x.is_contiguous()) {
    BP_DISPATCH_NUMERIC(x.dtype(), op, {
      kernels::map_dense<scalar_t, scalar_t>(x.numel(), out.data<scalar_t>(), x.data<scalar_t>(), 1, f);
    });
    return out;
  }
  std::array<const int64_t*, 2> strides{out.strides().data(), x.strides().data()};
  BP_DISPATCH_NUMERIC(x.dtype(), op, {
    kernels::map_strided<scalar_t, scalar_t>(static_cast<int>(x.dim()), x.shape().data(), strides,
                                             out.data<scalar_t>(), {x.data_ptr()}, 1, f);
  });
  return out;
}

struct Exp : OpBase {
  static constexpr const char* kName = "ExpBackward0";
  int out_ = -1;
  Tensor forward(const Tensor& x) {
    Tensor out = map_activation(kernels::ExpFn{}, floating(x), "exp");
    out_ = save(out);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) { return {g * saved(out_)}; }
};

struct Log : OpBase {
  static constexpr const char* kName = "LogBackward0";
  int x_ = -1;
  Tensor forward(const Tensor& x) {
    x_ = save(x);
    return map_activation(kernels::LogFn{}, floating(x), "log");
  }
  std::vector<Tensor> backward(const Tensor& g) { return {g / saved(x_)}; }
};

struct Sqrt : OpBase {
  static constexpr const char* kName = "SqrtBackward0";
  int out_ = -1;
  Tensor forward(const Tensor& x) {
    Tensor out = map_unary(floating(x), "sqrt", [](auto v) { return std::sqrt(v); });
    out_ = save(out);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) { return {g / (2.0 * saved(out_))}; }
};

struct Abs : OpBase {
  static constexpr const char* kName = "AbsBackward0";
  int x_ = -1;
  Tensor forward(const Tensor& x) {
    x_ = save(x);
    if (x.dtype() == DType::Int64) return map_unary_numeric(x, "abs", [](auto v) { return v < 0 ? -v : v; });
    return map_unary(floating(x), "abs", [](auto v) { return std::abs(v); });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor x = saved(x_);
    // Recorded backward: g times sign(x), the sign a constant.
    if (is_grad_enabled())
      return {g * map_unary(x.detach(), "abs_backward", [](auto v) {
                using T = decltype(v);
                return v > 0 ? T(1) : (v < 0 ? T(-1) : (v != v ? v : T(0)));
              })};
    return {map_binary(g, x, g.dtype(), "abs_backward", [](auto gv, auto v) {
      using T = decltype(gv);
      // The dtype dispatch instantiates bool too, where v < 0 is always false (-Wbool-compare).
      if constexpr (std::is_same_v<decltype(v), bool>) {
        return v ? gv : T(0);
      } else {
        return v > 0 ? gv : (v < 0 ? -gv : (v != v ? v : T(0)));
      }
    })};
  }
};

struct Sin : OpBase {
  static constexpr const char* kName = "SinBackward0";
  int x_ = -1;
  Tensor forward(const Tensor& x) {
    x_ = save(x);
    return map_unary(floating(x), "sin", [](auto v) { return std::sin(v); });
  }
  std::vector<Tensor> backward(const Tensor& g) { return {g * cos(saved(x_))}; }
};

struct Cos : OpBase {
  static constexpr const char* kName = "CosBackward0";
  int x_ = -1;
  Tensor forward(const Tensor& x) {
    x_ = save(x);
    return map_unary(floating(x), "cos", [](auto v) { return std::cos(v); });
  }
  std::vector<Tensor> backward(const Tensor& g) { return {g * neg(sin(saved(x_)))}; }
};

struct Clamp : OpBase {
  static constexpr const char* kName = "ClampBackward1";
  double lo_, hi_;
  int x_ = -1;
  Clamp(double lo, double hi) : lo_(lo), hi_(hi) {}
  Tensor forward(const Tensor& x) {
    x_ = save(x);
    double lo = lo_, hi = hi_;
    if (x.dtype() == DType::Int64)
      return map_unary_numeric(x, "clamp", [lo, hi](auto v) {
        using T = decltype(v);
        return std::min(std::max(v, static_cast<T>(std::max(lo, -9.2e18))), static_cast<T>(std::min(hi, 9.2e18)));
      });
    return map_unary(floating(x), "clamp", [lo, hi](auto v) {
      using T = decltype(v);
      if (v != v) return v;
      return std::min(std::max(v, static_cast<T>(lo)), static_cast<T>(hi));
    });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    double lo = lo_, hi = hi_;
    if (is_grad_enabled())
      return {g * map_unary(saved(x_).detach(), "clamp_backward", [lo, hi](auto v) {
                using T = decltype(v);
                return (v >= static_cast<T>(lo) && v <= static_cast<T>(hi)) ? T(1) : T(0);
              })};
    return {map_binary(g, saved(x_), g.dtype(), "clamp_backward", [lo, hi](auto gv, auto v) {
      using T = decltype(gv);
      return (v >= static_cast<T>(lo) && v <= static_cast<T>(hi)) ? gv : T(0);
    })};
  }
};

}  // namespace

Tensor exp(const Tensor& x) { return record(Exp{}, x); }
Tensor log(const Tensor& x) { return record(Log{}, x); }
Tensor sqrt(const Tensor& x) { return record(Sqrt{}, x); }
Tensor abs(const Tensor& x) { return record(Abs{}, x); }
Tensor sin(const Tensor& x) { return record(Sin{}, x); }
Tensor cos(const Tensor& x) { return record(Cos{}, x); }

Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max) {
  if (!min && !max) throw ValueError("clamp: at least one of min and max must be given");
  double inf = std::numeric_limits<double>::infinity();
  return record(Clamp(min.value_or(-inf), max.value_or(inf)), x);
}

}  // namespace backprop
