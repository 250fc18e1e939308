#pragma once
// Tensor-level wrappers over the strided map kernel: broadcasting, dtype promotion and output
// allocation for elementwise forward and backward passes. No autograd here.
#include <string>

#include "../dispatch.hpp"
#include "../kernels/activation.hpp"
#include "../kernels/strided.hpp"
#include "../tensor_impl.hpp"
#include "../tensor_utils.hpp"

namespace backprop {

/// The dtype arithmetic on `a` and `b` computes in. Mixing float32 and float64 throws.
DType promote_types(const Tensor& a, const Tensor& b, const char* op);
/// `t` in `dtype` (itself when it already is); no autograd.
Tensor cast_raw(const Tensor& t, DType dtype);
/// A 0-d tensor for a Python-style scalar next to `like`: the tensor's dtype when floating,
/// Int64 for integral values next to integer tensors, Float32 otherwise.
Tensor wrap_scalar(double value, const Tensor& like);

/// out[i] = f(x[i]) for floating x, in x's dtype; a fresh contiguous result.
template <class F>
Tensor map_unary(const Tensor& x, const char* op, F f) {
  Tensor out = make_tensor(x.shape(), x.dtype());
  if (x.is_contiguous()) {
    BP_DISPATCH_FLOATING(x.dtype(), op, {
      kernels::map_dense<scalar_t, scalar_t>(x.numel(), out.data<scalar_t>(), x.data<scalar_t>(), 4, f);
    });
    return out;
  }
  std::array<const int64_t*, 2> strides{out.strides().data(), x.strides().data()};
  BP_DISPATCH_FLOATING(x.dtype(), op, {
    kernels::map_strided<scalar_t, scalar_t>(static_cast<int>(x.dim()), x.shape().data(), strides,
                                             out.data<scalar_t>(), {x.data_ptr()}, 4, f);
  });
  return out;
}

/// Whether every element of `t` is one value in memory: size-1 or stride-0 dims only, as an
/// expanded scalar (the gradient sum() hands back) is.
inline bool single_value(const Tensor& t) {
  for (size_t d = 0; d < t.shape().size(); ++d)
    if (t.shape()[d] != 1 && t.strides()[d] != 0) return false;
  return true;
}

/// How map_binary can run (a, b) as one dense loop: contiguous operands of one shape (either may
/// instead be a single value expanded to it), or a contiguous operand next to a one-element one.
struct DensePair {
  bool ok = false, a_scalar = false, b_scalar = false, out_like_a = true;
};

inline DensePair dense_pair(const Tensor& a, const Tensor& b) {
  DensePair p;
  bool ac = a.is_contiguous(), bc = b.is_contiguous();
  if (a.shape() == b.shape()) {
    bool a_one = single_value(a), b_one = single_value(b);
    if ((ac || a_one) && (bc || b_one)) {
      p.ok = true;
      p.a_scalar = a_one && !ac;
      p.b_scalar = b_one && !bc;
    }
    return p;
  }
  if (ac && bc && b.numel() == 1 && b.dim() <= a.dim()) {
    p.ok = true;
    p.b_scalar = true;
  } else if (ac && bc && a.numel() == 1 && a.dim() <= b.dim()) {
    p.ok = true;
    p.a_scalar = true;
    p.out_like_a = false;
  }
  return p;
}

/// out = f(a, b) over the broadcast shape; both inputs must already have dtype `in`, and the
/// result has dtype `out_dtype` (same as `in` or Bool).
template <class F>
Tensor map_binary(const Tensor& a, const Tensor& b, DType out_dtype, const char* op, F f) {
  if (DensePair p = dense_pair(a, b); p.ok) {
    Tensor out = make_tensor(p.out_like_a ? a.shape() : b.shape(), out_dtype);
    bool a_scalar = p.a_scalar, b_scalar = p.b_scalar;
    if (out_dtype == DType::Bool && a.dtype() != DType::Bool) {
      BP_DISPATCH_NUMERIC(a.dtype(), op, {
        kernels::map_dense<bool, scalar_t, scalar_t>(out.numel(), out.data<bool>(), a.data<scalar_t>(), a_scalar,
                                                     b.data<scalar_t>(), b_scalar, 1, f);
      });
    } else {
      BP_DISPATCH_ALL(a.dtype(), op, {
        kernels::map_dense<scalar_t, scalar_t, scalar_t>(out.numel(), out.data<scalar_t>(), a.data<scalar_t>(),
                                                         a_scalar, b.data<scalar_t>(), b_scalar, 1, f);
      });
    }
    return out;
  }
  Shape shape = broadcast_shapes(a.shape(), b.shape(), op);
  Tensor out = make_tensor(shape, out_dtype);
  Shape sa = broadcast_strides(a, shape, op), sb = broadcast_strides(b, shape, op);
  std::array<const int64_t*, 3> strides{out.strides().data(), sa.data(), sb.data()};
  int nd = static_cast<int>(shape.size());
  if (out_dtype == DType::Bool && a.dtype() != DType::Bool) {
    BP_DISPATCH_NUMERIC(a.dtype(), op, {
      kernels::map_strided<bool, scalar_t, scalar_t>(nd, shape.data(), strides, out.data<bool>(),
                                                     {a.data_ptr(), b.data_ptr()}, 1, f);
    });
  } else {
    BP_DISPATCH_ALL(a.dtype(), op, {
      kernels::map_strided<scalar_t, scalar_t, scalar_t>(nd, shape.data(), strides, out.data<scalar_t>(),
                                                         {a.data_ptr(), b.data_ptr()}, 1, f);
    });
  }
  return out;
}

/// out = f(a, b, c) over the broadcast shape of three floating inputs of one dtype.
template <class F>
Tensor map_ternary(const Tensor& a, const Tensor& b, const Tensor& c, const char* op, F f) {
  Shape shape = broadcast_shapes(broadcast_shapes(a.shape(), b.shape(), op), c.shape(), op);
  Tensor out = make_tensor(shape, a.dtype());
  Shape sa = broadcast_strides(a, shape, op), sb = broadcast_strides(b, shape, op),
        sc = broadcast_strides(c, shape, op);
  std::array<const int64_t*, 4> strides{out.strides().data(), sa.data(), sb.data(), sc.data()};
  BP_DISPATCH_FLOATING(a.dtype(), op, {
    kernels::map_strided<scalar_t, scalar_t, scalar_t, scalar_t>(
        static_cast<int>(shape.size()), shape.data(), strides, out.data<scalar_t>(),
        {a.data_ptr(), b.data_ptr(), c.data_ptr()}, 1, f);
  });
  return out;
}

}  // namespace backprop

namespace backprop {

/// fn.f over floating x (kernels/activation.hpp): a contiguous x runs the ISA's vector loop.
template <class Fn>
Tensor map_activation(const Fn& fn, const Tensor& x, const char* op) {
  if (!x.is_contiguous()) return map_unary(x, op, [fn](auto v) { return fn.f(v); });
  Tensor out = make_tensor(x.shape(), x.dtype());
  BP_DISPATCH_FLOATING(x.dtype(), op, {
    kernels::activation_forward(fn, x.data<scalar_t>(), out.data<scalar_t>(), x.numel());
  });
  return out;
}

/// fn.grad(g, s) as one dense pass when s is contiguous and g has its shape and dtype (dense,
/// or one value expanded); an undefined tensor otherwise, for the caller's general path.
template <class Fn>
Tensor map_activation_grad(const Fn& fn, const Tensor& g, const Tensor& s, const char* op) {
  if (g.dtype() != s.dtype() || !is_floating(s.dtype()) || g.shape() != s.shape() || !s.is_contiguous())
    return Tensor();
  bool g_scalar = !g.is_contiguous();
  if (g_scalar && !single_value(g)) return Tensor();
  Tensor d = make_tensor(s.shape(), s.dtype());
  BP_DISPATCH_FLOATING(s.dtype(), op, {
    kernels::activation_grad(fn, g.data<scalar_t>(), s.data<scalar_t>(), d.data<scalar_t>(), s.numel(), g_scalar);
  });
  return d;
}

}  // namespace backprop
