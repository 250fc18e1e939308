// dropout and layer_norm.
#include "../kernels/dropout.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

struct Dropout : OpBase {
  static constexpr const char* kName = "NativeDropoutBackward0";
  double p_;
  int mask_ = -1;  // 0 or 1/(1-p), so backward is one multiply
  explicit Dropout(double p) : p_(p) {}
  Tensor forward(const Tensor& x) {
    std::vector<bool> keep = random_mask(x.numel(), 1.0 - p_);
    Tensor mask = make_tensor(x.shape(), x.dtype());
    double scale = p_ >= 1.0 ? 0.0 : 1.0 / (1.0 - p_);
    BP_DISPATCH_FLOATING(x.dtype(), "dropout", {
      kernels::dropout_mask(mask.data<scalar_t>(), x.numel(), keep, static_cast<scalar_t>(scale));
    });
    mask_ = save(mask);
    return x * mask;
  }
  std::vector<Tensor> backward(const Tensor& g) { return {g * saved(mask_)}; }
};

}  // namespace

Tensor dropout(const Tensor& x, double p, bool training) {
  if (p < 0 || p > 1) throw ValueError("dropout: probability has to be between 0 and 1, but got " + std::to_string(p));
  if (!training || p == 0) return x;
  return record(Dropout(p), x);
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps) {
  int64_t k = static_cast<int64_t>(normalized_shape.size());
  if (k == 0 || k > x.dim() || !std::equal(normalized_shape.begin(), normalized_shape.end(), x.shape().end() - k))
    throw ShapeError("layer_norm: normalized_shape " + shape_str(normalized_shape) +
                     " must match the trailing dims of the input shape " + shape_str(x.shape()));
  std::vector<int64_t> dims;
  for (int64_t d = x.dim() - k; d < x.dim(); ++d) dims.push_back(d);
  Tensor mu = mean(x, dims, true);
  Tensor centered = x - mu;
  Tensor variance = mean(centered * centered, dims, true);
  Tensor out = centered / sqrt(variance + eps);
  if (weight.defined()) out = out * weight;
  if (bias.defined()) out = out + bias;
  return out;
}

}  // namespace backprop
