// Factories of evenly spaced values and identity matrices (linspace, logspace, eye).
#include <cmath>
#include <string>
#include <vector>

#include "backprop/tensor.hpp"
#include "dispatch.hpp"
#include "tensor_impl.hpp"

namespace backprop {
namespace {

// Writes `values` into a new 1-d tensor of `dtype`. A value an integer dtype cannot hold raises
// rather than wrapping around (a double-to-int64 cast out of range is undefined behaviour).
Tensor from_values(const std::vector<double>& values, DType dtype, const char* op) {
  auto n = static_cast<int64_t>(values.size());
  if (dtype == DType::Int64) {
    for (double v : values)
      if (!(v >= -0x1p63 && v < 0x1p63))
        throw ValueError(std::string(op) + ": the value " + std::to_string(v) +
                         " does not fit in int64; pass dtype=float32 or float64");
  }
  Tensor t = make_tensor({n}, dtype);
  BP_DISPATCH_ALL(dtype, op, {
    scalar_t* p = t.data<scalar_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<scalar_t>(values[i]);
  });
  return t;
}

std::vector<double> spaced(double start, double end, int64_t steps, const char* op) {
  if (steps < 0) throw ValueError(std::string(op) + ": steps must be non-negative, got " + std::to_string(steps));
  if (!std::isfinite(start) || !std::isfinite(end))
    throw ValueError(std::string(op) + ": start and end must be finite, got " + std::to_string(start) + " and " +
                     std::to_string(end));
  std::vector<double> v(static_cast<size_t>(steps));
  if (steps == 1) v[0] = start;
  if (steps < 2) return v;
  double step = (end - start) / static_cast<double>(steps - 1);
  int64_t half = steps / 2;
  for (int64_t i = 0; i < steps; ++i)
    v[i] = i < half ? start + step * static_cast<double>(i) : end - step * static_cast<double>(steps - 1 - i);
  return v;
}

}  // namespace

Tensor linspace(double start, double end, int64_t steps, DType dtype) {
  return from_values(spaced(start, end, steps, "linspace"), dtype, "linspace");
}

Tensor logspace(double start, double end, int64_t steps, double base, DType dtype) {
  std::vector<double> v = spaced(start, end, steps, "logspace");
  for (double& x : v) x = std::pow(base, x);
  return from_values(v, dtype, "logspace");
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  if (m < 0) m = n;
  if (n < 0) throw ValueError("eye: n must be non-negative, got " + std::to_string(n));
  Tensor t = zeros({n, m}, dtype);
  BP_DISPATCH_ALL(dtype, "eye", {
    scalar_t* p = t.data<scalar_t>();
    for (int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = static_cast<scalar_t>(1);
  });
  return t;
}

}  // namespace backprop
