#pragma once
/// \file tensor.hpp
/// Tensor, DType, Shape and the factories that make tensors.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backprop/errors.hpp"
#include "backprop/small_vector.hpp"

namespace backprop {

/// Element types. Float32 is the default; Int64 holds labels and indices; Bool comes from
/// comparisons and masks.
enum class DType : uint8_t { Float32, Float64, Int64, Bool };

/// Sizes or strides of a tensor: a vector with room for five dims inline (no heap allocation
/// for the shapes almost every tensor has).
using Shape = SmallVector<int64_t, 5>;

/// Bytes per element of `dtype`.
size_t element_size(DType dtype);
/// "float32", "float64", "int64" or "bool".
const char* dtype_name(DType dtype);
/// True for Float32 and Float64.
inline bool is_floating(DType dtype) { return dtype == DType::Float32 || dtype == DType::Float64; }
/// "[2, 3]" for error messages.
std::string shape_str(const Shape& shape);
/// Product of the sizes; 1 for a 0-d shape.
int64_t shape_numel(const Shape& shape);

class Storage;
class TensorImpl;
class Node;
class Tensor;
namespace indexing {
class TensorIndex;
}

/// A hook run on the gradient of a tensor during backward. It may return a replacement gradient
/// or an undefined Tensor to keep the original.
using GradHook = std::function<class Tensor(const class Tensor&)>;

/// A cheap, copyable handle to shared tensor state (shape, strides, storage, autograd metadata).
/// Copies share everything: use clone() for a deep copy and detach() for a graph-free alias.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // ---- metadata -------------------------------------------------------------------------
  const Shape& shape() const;
  const Shape& strides() const;
  int64_t offset() const;
  int64_t dim() const;
  int64_t numel() const;
  /// Size of dimension `d`; negative `d` counts from the end.
  int64_t size(int64_t d) const;
  /// Stride (in elements) of dimension `d`; negative `d` counts from the end.
  int64_t stride(int64_t d) const;
  DType dtype() const;
  bool is_contiguous() const;
  /// Pointer to the first element (storage base + offset).
  void* data_ptr() const;
  template <class T>
  T* data() const { return static_cast<T*>(data_ptr()); }
  const std::shared_ptr<Storage>& storage() const;

  // ---- autograd -------------------------------------------------------------------------
  bool requires_grad() const;
  /// Marks a leaf as needing a gradient. Throws TypeError for integer and bool tensors.
  Tensor& requires_grad_(bool requires_grad = true);
  /// The accumulated gradient of a leaf (or of a tensor that called retain_grad()).
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  const std::shared_ptr<Node>& grad_fn() const;
  bool is_leaf() const;
  /// Runs backward from this tensor. A non-scalar needs `gradient` of the same shape. With
  /// `create_graph` the gradients written to .grad carry a graph (see backprop::backward).
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  /// A tensor sharing storage with this one but outside the graph.
  Tensor detach() const;
  /// Takes this tensor out of the graph in place: no grad_fn, requires_grad false.
  Tensor& detach_();
  /// Makes this tensor use `value`'s storage and geometry (shape, strides, dtype may change) while
  /// keeping its own identity and autograd state, as PyTorch's `x.data = value`. A gradient that
  /// no longer matches the new shape or dtype is dropped. Throws TypeError when this tensor
  /// requires grad and `value` is not floating.
  Tensor& set_data(const Tensor& value);
  /// Keeps the gradient of a non-leaf in grad() after backward.
  void retain_grad() const;
  bool retains_grad() const;
  /// Runs `hook` on this tensor's gradient whenever it is computed.
  void register_hook(GradHook hook) const;
  /// Counter bumped by every in-place write to the storage; saved tensors check it.
  uint64_t version() const;
  void bump_version() const;

  // ---- data access ----------------------------------------------------------------------
  /// The value of a one-element tensor.
  double item() const;
  /// The single value of an integer or bool tensor, exactly (item() goes through double).
  int64_t item_int() const;
  /// Whether the memory is read-only (wrapped with from_blob(..., read_only=true)).
  bool is_read_only() const;
  /// All values in row-major order, converted to double.
  std::vector<double> to_vector() const;
  /// All values of an Int64 or Bool tensor in row-major order.
  std::vector<int64_t> to_int_vector() const;
  Tensor contiguous() const;
  /// A differentiable deep copy.
  Tensor clone() const;
  /// A differentiable conversion between floating dtypes; a plain copy otherwise.
  Tensor to(DType dtype) const;

  // ---- in-place (bump the version counter) ----------------------------------------------
  Tensor& zero_();
  Tensor& fill_(double value);
  /// Copies `src` (broadcast to this shape, any dtype) into this tensor.
  Tensor& copy_(const Tensor& src);
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& sub_(const Tensor& other);
  Tensor& mul_(const Tensor& other);
  Tensor& div_(const Tensor& other);
  Tensor& add_(double other);
  Tensor& mul_(double other);
  /// Limits the values to [min, max] in place; either bound may be absent.
  Tensor& clamp_(std::optional<double> min, std::optional<double> max);

  // ---- NumPy-style indexing (see indexing.hpp) ------------------------------------------
  /// `x[indices]`: `x.index({Slice(0, 2), 1})` is Python's `x[0:2, 1]`. Integers, slices, None
  /// and Ellipsis give views; Int64 and Bool tensors gather (a copy; the gradient scatter-adds).
  Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
  /// `x[indices] = value`, with `value` broadcast to the indexed region; recorded by autograd
  /// when this tensor or `value` requires grad.
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& value);
  Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, double value);

  // ---- differentiable methods (same as the free functions in ops.hpp) --------------------
  Tensor sum() const;
  Tensor sum(int64_t dim, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(int64_t dim, bool keepdim = false) const;
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor t() const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor expand(const Shape& shape) const;
  Tensor pow(double exponent) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor abs() const;
  Tensor relu() const;
  Tensor sigmoid() const;
  Tensor tanh() const;
  Tensor matmul(const Tensor& other) const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

// ---- factories -----------------------------------------------------------------------------
/// A tensor holding `values` (row-major) with `shape`; an empty shape with one value is 0-d.
Tensor tensor(std::vector<double> values, Shape shape, DType dtype = DType::Float32,
              bool requires_grad = false);
/// An uninitialised contiguous tensor.
Tensor empty(const Shape& shape, DType dtype = DType::Float32);
Tensor zeros(const Shape& shape, DType dtype = DType::Float32, bool requires_grad = false);
Tensor ones(const Shape& shape, DType dtype = DType::Float32, bool requires_grad = false);
Tensor full(const Shape& shape, double value, DType dtype = DType::Float32,
            bool requires_grad = false);
/// Values start, start+step, ... below end (above end for a negative step).
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::Int64);
/// Uniform on [0, 1) from the global generator.
Tensor rand(const Shape& shape, DType dtype = DType::Float32, bool requires_grad = false);
/// Standard normal from the global generator.
Tensor randn(const Shape& shape, DType dtype = DType::Float32, bool requires_grad = false);
/// Uniform integers in [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& shape);
Tensor zeros_like(const Tensor& t, bool requires_grad = false);
Tensor ones_like(const Tensor& t, bool requires_grad = false);
Tensor full_like(const Tensor& t, double value);
/// A 0-d tensor.
Tensor scalar_tensor(double value, DType dtype = DType::Float32);
/// A 0-d tensor holding a plain number that meets `like` in arithmetic, with Python's rules:
/// `like`'s dtype when it is floating; Int64 for an integral value next to an integer tensor;
/// Float32 otherwise.
Tensor wrap_scalar(double value, const Tensor& like);
/// `dim` with a negative value counted from the end, for a tensor of `ndim` dims (a 0-d tensor
/// accepts 0 and -1). Throws IndexError naming `op` when it is out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
/// wrap_dim for a dim that must exist (to index a shape with): a 0-d tensor has none.
int64_t wrap_existing_dim(int64_t dim, int64_t ndim, const char* op);
/// Seeds the global generator used by rand, randn, randint, dropout and initialisers.
void manual_seed(uint64_t seed);
/// The global generator's state, to replay random draws (gradient checkpointing does).
std::string get_rng_state();
void set_rng_state(const std::string& state);

/// Wraps memory owned elsewhere; `release` runs when the last tensor using it dies. With
/// `read_only`, in-place writes to the result (and to its views) throw instead of writing.
Tensor from_blob(void* data, const Shape& shape, const Shape& strides, DType dtype,
                 std::function<void(void*)> release, bool read_only = false);

// ---- memory statistics ---------------------------------------------------------------------
struct MemoryStats {
  int64_t bytes_in_use;  ///< bytes held by live storages allocated by the library
  int64_t peak_bytes;    ///< maximum of bytes_in_use since the last reset
  int64_t allocations;   ///< storages allocated since start
  int64_t allocated_bytes;  ///< bytes of all storages allocated since start (a measure of work)
};
MemoryStats memory_stats();
void reset_peak_memory_stats();

// ---- threads -------------------------------------------------------------------------------
void set_num_threads(int n);
int get_num_threads();

}  // namespace backprop
