#pragma once
// Tensor-level wrappers over the strided map kernel: broadcasting, dtype promotion and output
// allocation for elementwise forward and backward passes. No autograd here.
#include <string>

#include "../dispatch.hpp"
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

/// out = f(a, b) over the broadcast shape; both inputs must already have dtype `in`, and the
/// result has dtype `out_dtype` (same as `in` or Bool).
/// Whether map_binary can treat (a, b) as dense runs: contiguous operands of one shape, or a
/// contiguous operand next to a one-element one.
inline bool dense_pair(const Tensor& a, const Tensor& b) {
  if (!a.is_contiguous() || !b.is_contiguous()) return false;
  if (a.shape() == b.shape()) return true;
  return (b.numel() == 1 && b.dim() <= a.dim()) || (a.numel() == 1 && a.dim() <= b.dim());
}

template <class F>
Tensor map_binary(const Tensor& a, const Tensor& b, DType out_dtype, const char* op, F f) {
  if (dense_pair(a, b)) {
    bool b_broadcast = a.shape() != b.shape() && b.numel() == 1 && b.dim() <= a.dim();
    const Tensor& big = (a.shape() == b.shape() || b_broadcast) ? a : b;
    Tensor out = make_tensor(big.shape(), out_dtype);
    bool a_scalar = a.numel() == 1 && &big != &a, b_scalar = b.numel() == 1 && &big != &b;
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
