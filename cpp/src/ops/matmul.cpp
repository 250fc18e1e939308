// matmul (NumPy semantics, built on one batched-GEMM op) and linear.
#include "../kernels/gemm.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

void check_float_pair(const Tensor& a, const Tensor& b, const char* op) {
  if (!is_floating(a.dtype()) || !is_floating(b.dtype()) || a.dtype() != b.dtype())
    throw TypeError(std::string(op) + ": expected both operands to have the same floating dtype, but got " +
                    dtype_name(a.dtype()) + " and " + dtype_name(b.dtype()) +
                    "; convert with .float() or .double()");
}

// out[b] (M x N) = or += x[b] (M x K) @ y[b] (K x N) for 3-D strided operands; out contiguous.
void batched_gemm(const Tensor& x, const Tensor& y, const Tensor& out, bool accumulate) {
  int64_t batch = x.shape()[0], M = x.shape()[1], K = x.shape()[2], N = y.shape()[2];
  BP_DISPATCH_FLOATING(x.dtype(), "matmul", {
    for (int64_t b = 0; b < batch; ++b)
      kernels::gemm<scalar_t>(M, N, K, x.data<scalar_t>() + b * x.strides()[0], x.strides()[1], x.strides()[2],
                              y.data<scalar_t>() + b * y.strides()[0], y.strides()[1], y.strides()[2],
                              out.data<scalar_t>() + b * M * N, N, accumulate);
  });
}

Tensor bmm3(const Tensor& a, const Tensor& b);

// Batched product of 3-D operands [B, M, K] @ [B, K, N] (B may be 1 on either side).
struct Bmm : OpBase {
  static constexpr const char* kName = "BmmBackward0";
  int a_ = -1, b_ = -1;
  Tensor forward(const Tensor& a, const Tensor& b) {
    check_float_pair(a, b, "matmul");
    if (needs(1)) a_ = save(a);
    if (needs(0)) b_ = save(b);
    Tensor out = make_tensor({a.shape()[0], a.shape()[1], b.shape()[2]}, a.dtype());
    batched_gemm(a, b, out, false);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor ga, gb;
    if (is_grad_enabled()) {
      // Recorded backward: the same products as ops, so they differentiate again.
      if (needs(0)) ga = bmm3(g, transpose(saved(b_), 1, 2));
      if (needs(1)) gb = bmm3(transpose(saved(a_), 1, 2), g);
      return {ga, gb};
    }
    Tensor gc = g.contiguous();
    if (needs(0)) {
      Tensor b = saved(b_);
      ga = make_tensor({g.shape()[0], g.shape()[1], b.shape()[1]}, g.dtype());
      batched_gemm(gc, transpose(b, 1, 2), ga, false);
    }
    if (needs(1)) {
      Tensor a = saved(a_);
      gb = make_tensor({g.shape()[0], a.shape()[2], g.shape()[2]}, g.dtype());
      batched_gemm(transpose(a, 1, 2), gc, gb, false);
    }
    return {ga, gb};
  }
};

Tensor bmm3(const Tensor& a, const Tensor& b) { return record(Bmm{}, a, b); }

Tensor mm(const Tensor& a, const Tensor& b) { return squeeze(bmm3(unsqueeze(a, 0), unsqueeze(b, 0)), 0); }

// y = x @ w^T + bias for 2-D x; the bias seeds the output so the GEMM adds onto it.
struct Linear : OpBase {
  static constexpr const char* kName = "AddmmBackward0";
  int x_ = -1, w_ = -1;
  Tensor forward(const Tensor& x, const Tensor& w, const Tensor& bias) {
    check_float_pair(x, w, "linear");
    if (x.shape()[1] != w.shape()[1])
      throw ShapeError("linear: mat1 and mat2 shapes cannot be multiplied (" + std::to_string(x.shape()[0]) + "x" +
                       std::to_string(x.shape()[1]) + " and " + std::to_string(w.shape()[1]) + "x" +
                       std::to_string(w.shape()[0]) + "); the input's last dim must equal weight.shape[1]");
    if (needs(1)) x_ = save(x);
    if (needs(0)) w_ = save(w);
    int64_t M = x.shape()[0], K = x.shape()[1], N = w.shape()[0];
    Tensor out = make_tensor({M, N}, x.dtype());
    if (bias.defined()) {
      if (bias.dtype() != x.dtype()) check_float_pair(x, bias, "linear");
      if (bias.numel() != N && bias.numel() != 1)
        throw ShapeError("linear: bias of shape " + shape_str(bias.shape()) + " does not match " +
                         std::to_string(N) + " output features");
      copy_into(out, bias);
    }
    BP_DISPATCH_FLOATING(x.dtype(), "linear", {
      kernels::gemm<scalar_t>(M, N, K, x.data<scalar_t>(), x.strides()[0], x.strides()[1], w.data<scalar_t>(),
                              w.strides()[1], w.strides()[0], out.data<scalar_t>(), N, bias.defined());
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor gx, gw, gb;
    Tensor gc = g.contiguous();
    if (needs(0)) gx = squeeze(bmm3(unsqueeze(gc, 0), unsqueeze(saved(w_), 0)), 0);
    if (needs(1)) gw = squeeze(bmm3(unsqueeze(gc.t(), 0), unsqueeze(saved(x_), 0)), 0);
    if (needs(2)) gb = sum(gc, {0});
    return {gx, gw, gb};
  }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_float_pair(a, b, "matmul");
  if (a.dim() == 0 || b.dim() == 0)
    throw ShapeError("matmul: both arguments need at least 1 dimension, got shapes " + shape_str(a.shape()) + " and " +
                     shape_str(b.shape()));
  int64_t ka = a.shape().back(), kb = b.dim() == 1 ? b.shape()[0] : b.shape()[b.dim() - 2];
  if (ka != kb)
    throw ShapeError("matmul: shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) +
                     " cannot be multiplied (inner sizes " + std::to_string(ka) + " and " + std::to_string(kb) +
                     " differ)");
  if (a.dim() == 1 && b.dim() == 1) return reshape(mm(unsqueeze(a, 0), unsqueeze(b, 1)), {});
  if (a.dim() == 1 && b.dim() == 2) return squeeze(mm(unsqueeze(a, 0), b), 0);
  if (a.dim() == 2 && b.dim() == 1) return squeeze(mm(a, unsqueeze(b, 1)), 1);
  if (a.dim() == 2 && b.dim() == 2) return mm(a, b);
  if (b.dim() <= 2) {
    // Fold a's batch dims into its rows: one large GEMM instead of many small ones.
    Tensor bb = b.dim() == 1 ? unsqueeze(b, 1) : b;
    Shape out_shape(a.shape().begin(), a.shape().end() - 1);
    Tensor out = mm(reshape(a, {shape_numel(out_shape), ka}), bb);
    if (b.dim() == 2) out_shape.push_back(b.shape()[1]);
    return reshape(out, out_shape);
  }
  Tensor aa = a.dim() == 1 ? unsqueeze(a, 0) : a;
  Shape batch_a(aa.shape().begin(), aa.shape().end() - 2), batch_b(b.shape().begin(), b.shape().end() - 2);
  Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  int64_t M = aa.shape()[aa.dim() - 2], N = b.shape().back();
  Shape ea = batch, eb = batch;
  ea.insert(ea.end(), {M, ka});
  eb.insert(eb.end(), {kb, N});
  int64_t nbatch = shape_numel(batch);
  Tensor out = bmm3(reshape(expand(aa, ea), {nbatch, M, ka}), reshape(expand(b, eb), {nbatch, kb, N}));
  Shape out_shape = batch;
  if (a.dim() > 1) out_shape.push_back(M);
  out_shape.push_back(N);
  return reshape(out, out_shape);
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (weight.dim() != 2)
    throw ShapeError("linear: weight must be 2-D (out_features, in_features), got shape " + shape_str(weight.shape()));
  if (x.dim() == 0) throw ShapeError("linear: the input must have at least 1 dimension");
  if (x.shape().back() != weight.shape()[1])
    throw ShapeError("linear: input shape " + shape_str(x.shape()) + " and weight shape " +
                     shape_str(weight.shape()) + " cannot be multiplied; the input's last dim (" +
                     std::to_string(x.shape().back()) + ") must equal in_features (" +
                     std::to_string(weight.shape()[1]) + ")");
  Shape rows(x.shape().begin(), x.shape().end() - 1);
  Tensor x2 = x.dim() == 2 ? x : reshape(x, {shape_numel(rows), x.shape().back()});
  Tensor out = record(Linear{}, x2, weight, bias);
  if (x.dim() == 2) return out;
  Shape out_shape(x.shape().begin(), x.shape().end() - 1);
  out_shape.push_back(weight.shape()[0]);
  return reshape(out, out_shape);
}

Tensor Tensor::matmul(const Tensor& other) const { return backprop::matmul(*this, other); }

}  // namespace backprop
