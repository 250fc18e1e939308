// softmax and log_softmax along one dim.
#include "../kernels/softmax.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

struct Geometry {
  int64_t outer = 1, D = 1, inner = 1;
};
Geometry around(const Shape& shape, int64_t dim) {
  Geometry g;
  if (shape.empty()) return g;
  for (int64_t d = 0; d < dim; ++d) g.outer *= shape[d];
  g.D = shape[dim];
  for (int64_t d = dim + 1; d < static_cast<int64_t>(shape.size()); ++d) g.inner *= shape[d];
  return g;
}

template <bool kLog>
struct Softmax : OpBase {
  static constexpr const char* kName = kLog ? "LogSoftmaxBackward0" : "SoftmaxBackward0";
  int64_t dim_;
  int out_ = -1;
  explicit Softmax(int64_t dim) : dim_(dim) {}
  Tensor forward(const Tensor& x) {
    const char* op = kLog ? "log_softmax" : "softmax";
    dim_ = wrap_dim(dim_, x.dim(), op);
    Tensor xc = (is_floating(x.dtype()) ? x : cast_raw(x, DType::Float32)).contiguous();
    Geometry geo = around(xc.shape(), dim_);
    Tensor out = make_tensor(xc.shape(), xc.dtype());
    BP_DISPATCH_FLOATING(xc.dtype(), op, {
      kernels::softmax_middle<kLog, scalar_t>(xc.data<scalar_t>(), out.data<scalar_t>(), geo.outer, geo.D, geo.inner);
    });
    out_ = save(out);
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor y = saved(out_);
    if (is_grad_enabled()) {
      // Recorded backward: y is the output with this node as grad_fn, so these differentiate again.
      if (kLog) return {g - exp(y) * sum(g, {dim_}, true)};
      return {y * (g - sum(g * y, {dim_}, true))};
    }
    Tensor gc = g.contiguous();
    Geometry geo = around(y.shape(), dim_);
    Tensor dx = make_tensor(y.shape(), y.dtype());
    BP_DISPATCH_FLOATING(y.dtype(), "softmax_backward", {
      kernels::softmax_backward_middle<kLog, scalar_t>(gc.data<scalar_t>(), y.data<scalar_t>(), dx.data<scalar_t>(),
                                                       geo.outer, geo.D, geo.inner);
    });
    return {dx};
  }
};

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return record(Softmax<false>(dim), x); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return record(Softmax<true>(dim), x); }

}  // namespace backprop
