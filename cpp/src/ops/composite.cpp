// Ops written as compositions of other differentiable ops: their gradients come from the parts,
// so they need no node of their own.
#include <algorithm>

#include "backprop/autograd.hpp"
#include "backprop/ops.hpp"

namespace backprop {

// amax's backward already shares the gradient evenly between ties; negating on both sides keeps
// that rule for the minimum.
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return neg(amax(neg(x), dims, keepdim));
}

Tensor std(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  return sqrt(var(x, dims, correction, keepdim));
}

// Counting hits in Int64 keeps any/all exact for every dtype and reuses sum's dim handling.
Tensor any(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  NoGradGuard g;
  Tensor hits = sum(ne(x, zeros({}, x.dtype())).to(DType::Int64), dims, keepdim);
  return gt(hits, zeros({}, DType::Int64));
}

Tensor all(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  NoGradGuard g;
  Tensor misses = sum(eq(x, zeros({}, x.dtype())).to(DType::Int64), dims, keepdim);
  return eq(misses, zeros({}, DType::Int64));
}

Tensor squeeze(const Tensor& x, const std::vector<int64_t>& dims) {
  std::vector<int64_t> wrapped;
  for (int64_t d : dims) wrapped.push_back(wrap_dim(d, x.dim(), "squeeze"));
  std::sort(wrapped.rbegin(), wrapped.rend());
  if (std::adjacent_find(wrapped.begin(), wrapped.end()) != wrapped.end())
    throw ShapeError("squeeze: dim appears multiple times in the list of dims");
  // From the last dim down, so earlier positions stay valid.
  Tensor out = x;
  for (int64_t d : wrapped) out = squeeze(out, d);
  return out;
}

}  // namespace backprop
