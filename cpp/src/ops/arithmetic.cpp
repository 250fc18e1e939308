// + - * / **, neg, maximum, minimum and where, with broadcasting and the scalar overloads.
#include <cmath>

#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

// Both operands in the promoted dtype (plain conversions: integer operands never need grad).
std::pair<Tensor, Tensor> promoted(const Tensor& a, const Tensor& b, const char* op, DType* dtype) {
  *dtype = promote_types(a, b, op);
  return {cast_raw(a, *dtype), cast_raw(b, *dtype)};
}

struct Add : OpBase {
  static constexpr const char* kName = "AddBackward0";
  Tensor forward(const Tensor& a, const Tensor& b) {
    DType dt;
    auto [x, y] = promoted(a, b, "add", &dt);
    return map_binary(x, y, dt, "add", [](auto u, auto v) { return u + v; });
  }
  std::vector<Tensor> backward(const Tensor& g) { return {needs(0) ? g : Tensor(), needs(1) ? g : Tensor()}; }
};

struct Sub : OpBase {
  static constexpr const char* kName = "SubBackward0";
  Tensor forward(const Tensor& a, const Tensor& b) {
    DType dt;
    auto [x, y] = promoted(a, b, "sub", &dt);
    if (dt == DType::Bool)
      throw TypeError("sub: subtraction of two bool tensors is not supported; use logical_xor or convert with .long()");
    return map_binary(x, y, dt, "sub", [](auto u, auto v) { return u - v; });
  }
  std::vector<Tensor> backward(const Tensor& g) { return {needs(0) ? g : Tensor(), needs(1) ? neg(g) : Tensor()}; }
};

struct Mul : OpBase {
  static constexpr const char* kName = "MulBackward0";
  int a_ = -1, b_ = -1;
  Tensor forward(const Tensor& a, const Tensor& b) {
    DType dt;
    auto [x, y] = promoted(a, b, "mul", &dt);
    if (needs(1)) a_ = save(x);
    if (needs(0)) b_ = save(y);
    return map_binary(x, y, dt, "mul", [](auto u, auto v) { return u * v; });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    return {needs(0) ? g * saved(b_) : Tensor(), needs(1) ? g * saved(a_) : Tensor()};
  }
};

struct Div : OpBase {
  static constexpr const char* kName = "DivBackward0";
  int a_ = -1, b_ = -1;
  Tensor forward(const Tensor& a, const Tensor& b) {
    DType dt = promote_types(a, b, "div");
    if (!is_floating(dt)) dt = DType::Float32;
    Tensor x = cast_raw(a, dt), y = cast_raw(b, dt);
    if (needs(1)) a_ = save(x);
    b_ = save(y);
    return map_binary(x, y, dt, "div", [](auto u, auto v) { return u / v; });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor b = saved(b_);
    // (N) -grad * ((a / b) / b), the order PyTorch evaluates in.
    return {needs(0) ? g / b : Tensor(), needs(1) ? neg(g) * ((saved(a_) / b) / b) : Tensor()};
  }
};

struct Pow : OpBase {
  static constexpr const char* kName = "PowBackward1";
  int a_ = -1, b_ = -1, out_ = -1;
  Tensor forward(const Tensor& a, const Tensor& b) {
    DType dt = promote_types(a, b, "pow");
    if (!is_floating(dt) && !(a.dtype() == DType::Int64 && b.dtype() == DType::Int64)) dt = DType::Float32;
    Tensor x = cast_raw(a, dt), y = cast_raw(b, dt);
    a_ = save(x);
    b_ = save(y);
    Tensor out;
    if (dt == DType::Int64) {
      Tensor yc = y.contiguous();
      const int64_t* e = yc.data<int64_t>();
      for (int64_t i = 0; i < yc.numel(); ++i)
        if (e[i] < 0)
          throw RuntimeError("pow: Integers to negative integer powers are not allowed; convert the base to "
                             "floating point first (x.float() ** -1)");
      out = map_binary(x, y, dt, "pow", [](auto u, auto v) {
        using T = decltype(u);
        // Square-and-multiply in unsigned arithmetic (wraps on overflow) instead of looping v times.
        uint64_t r = 1, base = static_cast<uint64_t>(static_cast<int64_t>(u)), e = static_cast<uint64_t>(static_cast<int64_t>(v));
        while (e) {
          if (e & 1) r *= base;
          base *= base;
          e >>= 1;
        }
        return static_cast<T>(r);
      });
    } else {
      out = map_binary(x, y, dt, "pow", [](auto u, auto v) { return static_cast<decltype(u)>(std::pow(u, v)); });
    }
    if (needs(1)) out_ = save(out);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    if (is_grad_enabled()) return differentiable_backward(g);
    Tensor a = saved(a_), b = saved(b_);
    Tensor ga, gb;
    if (needs(0)) {
      Tensor d = map_binary(a, b, a.dtype(), "pow_backward", [](auto u, auto v) {
        using T = decltype(u);
        return v == T(0) ? T(0) : static_cast<T>(v * std::pow(u, v - T(1)));
      });
      ga = g * d;
    }
    if (needs(1)) {
      Tensor out = saved(out_);
      Tensor d = map_ternary(out, a, b, "pow_backward", [](auto r, auto u, auto v) {
        using T = decltype(r);
        return (u == T(0) && v >= T(0)) ? T(0) : static_cast<T>(r * std::log(u));
      });
      gb = g * d;
    }
    return {ga, gb};
  }
  // The same formulas in ops, for a recorded backward; the zero cases are constant masks.
  std::vector<Tensor> differentiable_backward(const Tensor& g) {
    Tensor a = saved(a_), b = saved(b_);
    Tensor zero = zeros({}, g.dtype());
    Tensor ga, gb;
    if (needs(0)) ga = g * where(eq(b, zero), zero, b * pow(a, b - 1.0));
    if (needs(1)) {
      Tensor zero_base = logical_and(eq(a, zero), ge(b, zero));
      gb = g * where(zero_base, zero, saved(out_) * log(where(zero_base, ones({}, a.dtype()), a)));
    }
    return {ga, gb};
  }
};

struct Neg : OpBase {
  static constexpr const char* kName = "NegBackward0";
  Tensor forward(const Tensor& a) {
    if (a.dtype() == DType::Bool)
      throw TypeError("neg: negation of a bool tensor is not supported; use logical_not instead");
    auto f = [](auto v) { return -v; };
    Tensor out = make_tensor(a.shape(), a.dtype());
    if (a.is_contiguous()) {
      BP_DISPATCH_NUMERIC(a.dtype(), "neg", {
        kernels::map_dense<scalar_t, scalar_t>(a.numel(), out.data<scalar_t>(), a.data<scalar_t>(), 1, f);
      });
      return out;
    }
    std::array<const int64_t*, 2> strides{out.strides().data(), a.strides().data()};
    BP_DISPATCH_NUMERIC(a.dtype(), "neg", {
      kernels::map_strided<scalar_t, scalar_t>(static_cast<int>(a.dim()), a.shape().data(), strides,
                                               out.data<scalar_t>(), {a.data_ptr()}, 1, f);
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) { return {neg(g)}; }
};

// maximum and minimum send the gradient to the chosen operand and split it evenly on ties.
template <bool kMax>
struct Extremum : OpBase {
  static constexpr const char* kName = kMax ? "MaximumBackward0" : "MinimumBackward0";
  int a_ = -1, b_ = -1;
  Tensor forward(const Tensor& a, const Tensor& b) {
    DType dt;
    auto [x, y] = promoted(a, b, kMax ? "maximum" : "minimum", &dt);
    a_ = save(x);
    b_ = save(y);
    return map_binary(x, y, dt, kMax ? "maximum" : "minimum", [](auto u, auto v) {
      if (u != u) return u;
      if (v != v) return v;
      return kMax ? (u > v ? u : v) : (u < v ? u : v);
    });
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor a = saved(a_), b = saved(b_);
    auto share = [](auto mine, auto other) {
      using T = decltype(mine);
      if (mine == other) return T(0.5);
      return (kMax ? mine > other : mine < other) ? T(1) : T(0);
    };
    Tensor ga, gb;
    if (needs(0)) ga = g * map_binary(a, b, a.dtype(), "maximum_backward", share);
    if (needs(1)) gb = g * map_binary(b, a, a.dtype(), "maximum_backward", share);
    return {ga, gb};
  }
};

struct Where : OpBase {
  static constexpr const char* kName = "WhereBackward0";
  int cond_ = -1;
  Tensor forward(const Tensor& cond, const Tensor& a, const Tensor& b) {
    if (cond.dtype() != DType::Bool)
      throw TypeError(std::string("where: expected a bool condition, got ") + dtype_name(cond.dtype()) +
                      "; compare first, for example x > 0");
    DType dt = promote_types(a, b, "where");
    Tensor x = cast_raw(a, dt), y = cast_raw(b, dt);
    cond_ = save(cond);
    Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), x.shape(), "where"), y.shape(), "where");
    Tensor out = make_tensor(shape, dt);
    Shape sc = broadcast_strides(cond, shape, "where"), sa = broadcast_strides(x, shape, "where"),
          sb = broadcast_strides(y, shape, "where");
    std::array<const int64_t*, 4> strides{out.strides().data(), sc.data(), sa.data(), sb.data()};
    BP_DISPATCH_ALL(dt, "where", {
      kernels::map_strided<scalar_t, bool, scalar_t, scalar_t>(
          static_cast<int>(shape.size()), shape.data(), strides, out.data<scalar_t>(),
          {cond.data_ptr(), x.data_ptr(), y.data_ptr()}, 1, [](bool c, scalar_t u, scalar_t v) { return c ? u : v; });
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor cond = saved(cond_);
    Tensor z = zeros({}, g.dtype());
    return {Tensor(), needs(1) ? where(cond, g, z) : Tensor(), needs(2) ? where(cond, z, g) : Tensor()};
  }
};

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return record(Add{}, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) {
  if (a.dtype() == DType::Bool && b.dtype() == DType::Bool)
    throw RuntimeError("sub: Subtraction, the `-` operator, with two bool tensors is not supported; use the `^` "
                       "or logical_xor() operator instead");
  return record(Sub{}, a, b);
}
Tensor mul(const Tensor& a, const Tensor& b) { return record(Mul{}, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return record(Div{}, a, b); }
Tensor pow(const Tensor& base, const Tensor& exponent) { return record(Pow{}, base, exponent); }
Tensor pow(const Tensor& base, double exponent) { return pow(base, wrap_scalar(exponent, base)); }
Tensor pow(double base, const Tensor& exponent) { return pow(wrap_scalar(base, exponent), exponent); }
Tensor neg(const Tensor& a) {
  if (a.dtype() == DType::Bool)
    throw RuntimeError("neg: Negation, the `-` operator, on a bool tensor is not supported; use the `~` or "
                       "logical_not() operator instead");
  return record(Neg{}, a);
}
Tensor maximum(const Tensor& a, const Tensor& b) { return record(Extremum<true>{}, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return record(Extremum<false>{}, a, b); }
Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) { return record(Where{}, condition, a, b); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double b) { return add(a, wrap_scalar(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(wrap_scalar(a, b), b); }
Tensor operator-(const Tensor& a, double b) { return sub(a, wrap_scalar(b, a)); }
Tensor operator-(double a, const Tensor& b) { return sub(wrap_scalar(a, b), b); }
Tensor operator*(const Tensor& a, double b) { return mul(a, wrap_scalar(b, a)); }
Tensor operator*(double a, const Tensor& b) { return mul(wrap_scalar(a, b), b); }
Tensor operator/(const Tensor& a, double b) { return div(a, wrap_scalar(b, a)); }
Tensor operator/(double a, const Tensor& b) { return div(wrap_scalar(a, b), b); }

}  // namespace backprop
