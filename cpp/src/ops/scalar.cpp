// Tensor + number and tensor * number for floating tensors, with the number kept as a plain
// double: no 0-d tensor is made for it, saved or version-checked. This is the path Python's
// `x * 1.001` takes; the results and gradients are those of add/mul with the number wrapped in a
// 0-d tensor of x's dtype (the number is rounded to that dtype first, as wrapping would).
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

void check_floating(const Tensor& x, const char* op) {
  if (!x.defined()) throw ValueError(std::string(op) + ": the tensor operand is undefined");
  if (!is_floating(x.dtype()))
    throw TypeError(std::string(op) + ": expected a floating tensor, got " + dtype_name(x.dtype()) +
                    "; use the tensor-tensor op for integer and bool tensors");
}

struct AddScalar : OpBase {
  static constexpr const char* kName = "AddBackward0";
  double s_ = 0;
  explicit AddScalar(double s) : s_(s) {}
  Tensor forward(const Tensor& x) {
    double s = s_;
    return map_unary(x, "add", [s](auto u) { return u + static_cast<decltype(u)>(s); });
  }
  std::vector<Tensor> backward(const Tensor& g) { return {g}; }
};

struct MulScalar : OpBase {
  static constexpr const char* kName = "MulBackward0";
  double s_ = 1;
  explicit MulScalar(double s) : s_(s) {}
  Tensor forward(const Tensor& x) {
    double s = s_;
    return map_unary(x, "mul", [s](auto u) { return u * static_cast<decltype(u)>(s); });
  }
  // Written with the op itself, so that create_graph records it.
  std::vector<Tensor> backward(const Tensor& g) { return {mul_scalar(g, s_)}; }
};

}  // namespace

Tensor add_scalar(const Tensor& x, double s) {
  check_floating(x, "add");
  return record(AddScalar(s), x);
}

Tensor mul_scalar(const Tensor& x, double s) {
  check_floating(x, "mul");
  return record(MulScalar(s), x);
}

}  // namespace backprop
