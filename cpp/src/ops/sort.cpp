// sort, argsort and topk along one dim. The gradient scatters into the positions the values came
// from (ScatterInto), whose own gradient gathers them back: both differentiate again.
#include "../kernels/index.hpp"
#include "../kernels/sort.hpp"
#include "elementwise.hpp"
#include "op.hpp"

namespace backprop {
namespace {

// zeros(shape) with src added at the positions `index` names along `dim` (index has src's shape).
struct ScatterInto : OpBase {
  static constexpr const char* kName = "ScatterAddBackward0";
  Shape shape_;
  int64_t dim_;
  int index_ = -1;
  ScatterInto(Shape shape, int64_t dim) : shape_(std::move(shape)), dim_(dim) {}
  Tensor forward(const Tensor& src, const Tensor& index) {
    index_ = save(index);
    Tensor out = zeros(shape_, src.dtype());
    Tensor sc = src.contiguous(), ic = index.contiguous();
    Shape xs = contiguous_strides(shape_);
    BP_DISPATCH_FLOATING(src.dtype(), "scatter_add", {
      kernels::gather_backward(sc.data<scalar_t>(), out.data<scalar_t>(), ic.data<int64_t>(), ic.shape().data(),
                               xs.data(), ic.dim(), dim_, ic.numel());
    });
    return out;
  }
  std::vector<Tensor> backward(const Tensor& g) { return {gather(g, dim_, saved(index_)), Tensor()}; }
};

template <bool kTopk>
struct Sort : OpBase {
  static constexpr const char* kName = kTopk ? "TopkBackward0" : "SortBackward0";
  int64_t dim_, k_;  // k_ < 0: every element (sort); otherwise the k leading ones (topk)
  bool descending_;
  const char* op_;
  Shape in_shape_;
  int index_ = -1;
  Tensor* indices_out_;
  Sort(int64_t dim, int64_t k, bool descending, const char* op, Tensor* indices_out)
      : dim_(dim), k_(k), descending_(descending), op_(op), indices_out_(indices_out) {}
  Tensor forward(const Tensor& x) {
    dim_ = wrap_dim(dim_, x.dim(), op_);
    in_shape_ = x.shape();
    int64_t outer = 1, n = x.dim() == 0 ? 1 : x.shape()[dim_], inner = 1;
    for (int64_t d = 0; d < dim_; ++d) outer *= x.shape()[d];
    for (int64_t d = dim_ + 1; d < x.dim(); ++d) inner *= x.shape()[d];
    if (k_ < 0) {
      k_ = n;
    } else if (k_ > n) {
      throw IndexError(std::string(op_) + ": k (" + std::to_string(k_) + ") is out of range for dimension " +
                       std::to_string(dim_) + " of size " + std::to_string(n) + " in a tensor of shape " +
                       shape_str(x.shape()));
    }
    Shape out_shape = x.shape();
    if (x.dim() > 0) out_shape[dim_] = k_;
    Tensor values = make_tensor(out_shape, x.dtype());
    Tensor indices = make_tensor(out_shape, DType::Int64);
    Tensor xc = x.contiguous();
    BP_DISPATCH_ALL(x.dtype(), op_, {
      kernels::sort_middle<scalar_t>(xc.data<scalar_t>(), values.data<scalar_t>(), indices.data<int64_t>(), outer, n,
                                     inner, k_, descending_);
    });
    if (indices_out_) *indices_out_ = indices;
    index_ = save(indices);
    return values;
  }
  std::vector<Tensor> backward(const Tensor& g) {
    Tensor index = saved(index_);
    if (g.dim() == 0) return {g};
    return {record(ScatterInto(in_shape_, dim_), g, index)};
  }
};

std::pair<Tensor, Tensor> sort_impl(const Tensor& x, int64_t dim, int64_t k, bool descending, const char* op) {
  Tensor indices;
  Tensor values = k < 0 ? record(Sort<false>(dim, k, descending, op, &indices), x)
                        : record(Sort<true>(dim, k, descending, op, &indices), x);
  return {values, indices};
}

}  // namespace

std::pair<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) {
  return sort_impl(x, dim, -1, descending, "sort");
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) {
  NoGradGuard no_grad;
  return sort_impl(x, dim, -1, descending, "argsort").second;
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool /*sorted*/) {
  if (k < 0) throw IndexError("topk: k must not be negative, got " + std::to_string(k));
  // The k entries always come out ordered: PyTorch leaves the order unspecified when sorted=False,
  // so ordered output satisfies both.
  return sort_impl(x, dim, k, largest, "topk");
}

}  // namespace backprop
