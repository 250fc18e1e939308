#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <random>
#include <sstream>

#include "backprop/autograd.hpp"
#include "backprop/ops.hpp"
#include "dispatch.hpp"
#include "kernels/parallel.hpp"
#include "kernels/strided.hpp"
#include "pool.hpp"
#include "tensor_impl.hpp"
#include "tensor_utils.hpp"

namespace backprop {

size_t element_size(DType dtype) {
  switch (dtype) {
    case DType::Float32: return 4;
    case DType::Float64: return 8;
    case DType::Int64: return 8;
    case DType::Bool: return 1;
  }
  return 1;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int64: return "int64";
    case DType::Bool: return "bool";
  }
  return "?";
}

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

int64_t shape_numel(const Shape& shape) {
  for (int64_t s : shape)
    if (s == 0) return 0;
  int64_t n = 1;
  for (int64_t s : shape)
    if (__builtin_mul_overflow(n, s, &n))
      throw RuntimeError("shape " + shape_str(shape) + ": the size calculation overflowed (the product of the "
                         "sizes does not fit in 64 bits)");
  return n;
}

namespace {
std::string number_str(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

// Every tensor's geometry passes through here: sizes must be non-negative, the rank within what
// the kernels iterate over, and the element count representable.
int64_t checked_numel(const Shape& shape) {
  if (shape.size() > static_cast<size_t>(kMaxTensorDims))
    throw ShapeError("a tensor can have at most " + std::to_string(kMaxTensorDims) + " dimensions, got " +
                     std::to_string(shape.size()));
  // The product of the sizes counted as at least 1 bounds every stride and offset computed from
  // this shape (an empty tensor's other dims still enter its strides), so it must fit too.
  int64_t n = 1, span = 1;
  bool overflow = false;
  for (int64_t s : shape) {
    if (s < 0) throw ShapeError("cannot create a tensor with a negative size: shape " + shape_str(shape));
    if (__builtin_mul_overflow(n, s, &n)) overflow = true;
    if (__builtin_mul_overflow(span, std::max<int64_t>(s, 1), &span)) overflow = true;
  }
  if (overflow)
    throw RuntimeError("shape " + shape_str(shape) + ": the size calculation overflowed (the product of the sizes "
                       "does not fit in 64 bits)");
  return n;
}
}  // namespace

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    if (__builtin_mul_overflow(s, std::max<int64_t>(shape[i], 1), &s))
      throw RuntimeError("shape " + shape_str(shape) + ": the stride calculation overflowed (the product of the "
                         "sizes does not fit in 64 bits)");
  }
  return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t n = std::max<int64_t>(ndim, 1);
  if (dim < -n || dim >= n)
    throw IndexError(std::string(op) + ": dimension " + std::to_string(dim) +
                     " is out of range for a tensor with " + std::to_string(ndim) + " dims");
  return dim < 0 ? dim + n : dim;
}

int64_t wrap_existing_dim(int64_t dim, int64_t ndim, const char* op) {
  if (ndim == 0)
    throw IndexError(std::string(op) + ": dimension specified as " + std::to_string(dim) +
                     " but the tensor has no dimensions (it is 0-d)");
  return wrap_dim(dim, ndim, op);
}

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage_, Shape shape_, Shape strides_, int64_t offset_,
                       DType dtype_)
    : storage(std::move(storage_)),
      shape(std::move(shape_)),
      strides(std::move(strides_)),
      offset(offset_),
      dtype(dtype_),
      numel(checked_numel(shape)) {}

bool TensorImpl::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

Tensor make_tensor(const Shape& shape, DType dtype) {
  int64_t numel = checked_numel(shape);
  if (numel > std::numeric_limits<int64_t>::max() / 8)
    throw ShapeError("shape " + shape_str(shape) + " has too many elements to allocate");
  auto storage = std::allocate_shared<Storage>(pool::Allocator<Storage>(), static_cast<size_t>(numel) * element_size(dtype));
  return Tensor(std::allocate_shared<TensorImpl>(pool::Allocator<TensorImpl>(), std::move(storage), shape, contiguous_strides(shape), 0, dtype));
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  return Tensor(std::allocate_shared<TensorImpl>(pool::Allocator<TensorImpl>(), base.storage(), shape, strides, offset, base.dtype()));
}

Tensor view_of(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  Tensor v = make_view(base, shape, strides, offset);
  v.impl()->is_view = true;
  return v;
}

// ---- Tensor metadata ---------------------------------------------------------------------------

const Shape& Tensor::shape() const { return impl_->shape; }
const Shape& Tensor::strides() const { return impl_->strides; }
int64_t Tensor::offset() const { return impl_->offset; }
int64_t Tensor::dim() const { return static_cast<int64_t>(impl_->shape.size()); }
int64_t Tensor::numel() const { return impl_->numel; }
int64_t Tensor::size(int64_t d) const { return impl_->shape[wrap_existing_dim(d, dim(), "size")]; }
DType Tensor::dtype() const { return impl_->dtype; }
bool Tensor::is_contiguous() const { return impl_->is_contiguous(); }
void* Tensor::data_ptr() const { return impl_->data_ptr(); }
const std::shared_ptr<Storage>& Tensor::storage() const { return impl_->storage; }
uint64_t Tensor::version() const { return impl_->storage->version(); }
void Tensor::bump_version() const { impl_->storage->bump_version(); }

bool Tensor::requires_grad() const { return impl_->requires_grad; }

Tensor& Tensor::requires_grad_(bool requires_grad) {
  if (requires_grad && !is_floating(dtype()))
    throw TypeError(std::string("requires_grad_: only float32 and float64 tensors can require gradients, got ") +
                    dtype_name(dtype()) + "; convert with .float() or .double() first");
  if (!requires_grad && impl_->grad_fn)
    throw RuntimeError("requires_grad_(False) is only valid on leaf tensors; use detach() on a non-leaf");
  impl_->requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const {
  std::lock_guard<std::mutex> lock(impl_->grad_mutex);
  return impl_->grad;
}

void Tensor::set_grad(const Tensor& grad) const {
  if (grad.defined()) {
    if (grad.shape() != shape())
      throw ShapeError("assigned grad has shape " + shape_str(grad.shape()) + " but the tensor has shape " +
                       shape_str(shape()));
    if (grad.dtype() != dtype())
      throw TypeError(std::string("assigned grad has dtype ") + dtype_name(grad.dtype()) +
                      " but the tensor has dtype " + dtype_name(dtype()));
  }
  std::lock_guard<std::mutex> lock(impl_->grad_mutex);
  impl_->grad = grad;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const { return impl_->grad_fn; }
bool Tensor::is_leaf() const { return impl_->grad_fn == nullptr; }

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  std::vector<Tensor> grads;
  if (gradient.defined()) grads.push_back(gradient);
  backprop::backward({*this}, grads, retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  return Tensor(std::allocate_shared<TensorImpl>(pool::Allocator<TensorImpl>(), impl_->storage, impl_->shape, impl_->strides, impl_->offset,
                                             impl_->dtype));
}

void Tensor::retain_grad() const {
  if (!requires_grad())
    throw RuntimeError("retain_grad: can't retain_grad on a tensor that has requires_grad=False");
  if (is_leaf() || impl_->retains_grad) return;
  impl_->retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_;
  impl_->grad_fn->pre_hooks(impl_->output_nr).push_back([weak](const Tensor& g) -> Tensor {
    if (auto self = weak.lock()) {
      std::lock_guard<std::mutex> lock(self->grad_mutex);
      if (self->grad.defined())
        self->grad = add(self->grad, g);
      else
        self->grad = g.clone();
    }
    return Tensor();
  });
}

bool Tensor::retains_grad() const { return impl_->retains_grad; }

void Tensor::register_hook(GradHook hook) const {
  if (!requires_grad())
    throw RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require gradient");
  if (is_leaf())
    impl_->leaf_hooks.push_back(std::move(hook));
  else
    impl_->grad_fn->pre_hooks(impl_->output_nr).push_back(std::move(hook));
}

// ---- data access ---------------------------------------------------------------------------------

double Tensor::item() const {
  if (numel() != 1)
    throw ShapeError("item: a Tensor with " + std::to_string(numel()) +
                     " elements cannot be converted to a scalar; index or reduce it first");
  double v = 0;
  BP_DISPATCH_ALL(dtype(), "item", v = static_cast<double>(*data<scalar_t>()));
  return v;
}

int64_t Tensor::item_int() const {
  if (numel() != 1)
    throw ShapeError("item: a Tensor with " + std::to_string(numel()) +
                     " elements cannot be converted to a scalar; index or reduce it first");
  if (is_floating(dtype()))
    throw TypeError(std::string("item_int: the tensor holds ") + dtype_name(dtype()) + "; use item()");
  int64_t v = 0;
  BP_DISPATCH_ALL(dtype(), "item", v = static_cast<int64_t>(*data<scalar_t>()));
  return v;
}

bool Tensor::is_read_only() const { return impl_->storage->read_only(); }

std::vector<double> Tensor::to_vector() const {
  Tensor c = contiguous();
  std::vector<double> out(static_cast<size_t>(numel()));
  BP_DISPATCH_ALL(dtype(), "to_vector", {
    const scalar_t* p = c.data<scalar_t>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  });
  return out;
}

std::vector<int64_t> Tensor::to_int_vector() const {
  Tensor c = contiguous();
  std::vector<int64_t> out(static_cast<size_t>(numel()));
  BP_DISPATCH_ALL(dtype(), "to_int_vector", {
    const scalar_t* p = c.data<scalar_t>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int64_t>(p[i]);
  });
  return out;
}

void copy_into(const Tensor& dst, const Tensor& src) {
  Shape src_strides = broadcast_strides(src, dst.shape(), "copy_");
  std::array<const int64_t*, 2> strides{dst.strides().data(), src_strides.data()};
  BP_DISPATCH_ALL(dst.dtype(), "copy_", {
    using out_t = scalar_t;
    BP_DISPATCH_ALL(src.dtype(), "copy_", {
      kernels::map_strided<out_t, scalar_t>(static_cast<int>(dst.dim()), dst.shape().data(), strides,
                                            dst.data<out_t>(), {src.data_ptr()}, 1,
                                            [](scalar_t v) { return static_cast<out_t>(v); });
    });
  });
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

// ---- in-place ------------------------------------------------------------------------------------

void check_writable(const Tensor& t, const char* op) {
  if (t.defined() && t.impl()->storage->read_only())
    throw RuntimeError(std::string(op) + ": the tensor's memory is read-only (it wraps a read-only NumPy array, "
                       "memory map or buffer); clone() it, or pass a writable array (np.array(a)) to from_numpy");
}

void check_inplace(const Tensor& t, const char* op) {
  check_writable(t, op);
  if (is_grad_enabled() && t.requires_grad() && t.is_leaf())
    throw RuntimeError(std::string(op) +
                       ": a leaf Variable that requires grad is being used in an in-place operation; "
                       "wrap it in no_grad() or operate on .detach()");
  if (is_grad_enabled() && t.impl()->is_view && t.requires_grad())
    throw RuntimeError(std::string(op) +
                       ": in-place write to a view of a tensor that requires grad is not supported; "
                       "use the out-of-place op (or torch.where / index_put) instead");
}

Tensor& Tensor::zero_() { return fill_(0.0); }

namespace {
// A write that replaces every value of a recorded (non-leaf) tensor also replaces its history:
// gradients reaching it no longer flow to what it was computed from. The values are rebased onto
// `old * 0`, a node that passes a zero gradient back, so the tensor still requires grad as in
// PyTorch. Returns the node to attach once the write is done (null when nothing is recorded).
Tensor history_cut(const Tensor& self) {
  if (!is_grad_enabled() || !self.grad_fn()) return Tensor();
  return mul(self, scalar_tensor(0.0, self.dtype()));
}

void attach_history(Tensor& self, const Tensor& cut) {
  if (!cut.defined()) return;
  self.impl()->grad_fn = cut.grad_fn();
  self.impl()->output_nr = cut.impl()->output_nr;
}
}  // namespace

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, "fill_");
  Tensor filled = scalar_tensor(value, dtype());
  Tensor cut = history_cut(*this);
  copy_into(*this, filled);
  attach_history(*this, cut);
  bump_version();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  if (src.requires_grad() && is_grad_enabled()) {
    if (impl_->is_view)
      throw RuntimeError("copy_: writing a tensor that requires grad into a view is not supported; build the "
                         "result out of place (cat, stack, where) instead");
    // Rebase this tensor's history onto the copied values.
    Tensor result = backprop::expand(src.to(dtype()), shape());
    copy_into(*this, result.detach());
    impl_->grad_fn = result.grad_fn();
    impl_->output_nr = result.impl()->output_nr;
    impl_->requires_grad = true;
    bump_version();
    return *this;
  }
  Tensor cut = history_cut(*this);
  copy_into(*this, src);
  attach_history(*this, cut);
  bump_version();
  return *this;
}

Tensor& assign_inplace(Tensor& self, const Tensor& result, const char* op) {
  check_inplace(self, op);
  if (result.dtype() != self.dtype())
    throw TypeError(std::string(op) + ": result type " + dtype_name(result.dtype()) +
                    " can't be cast to the in-place output of type " + dtype_name(self.dtype()));
  if (result.shape() != self.shape())
    throw ShapeError(std::string(op) + ": output with shape " + shape_str(self.shape()) +
                     " doesn't match the broadcast shape " + shape_str(result.shape()));
  if (result.grad_fn() && is_grad_enabled() && self.impl()->is_view)
    throw RuntimeError(std::string(op) + ": in-place write of a value that requires grad into a view is not "
                       "supported; use the out-of-place op instead");
  copy_into(self, result.detach());
  self.bump_version();
  if (result.grad_fn() && is_grad_enabled()) {
    self.impl()->grad_fn = result.grad_fn();
    self.impl()->output_nr = result.impl()->output_nr;
    self.impl()->requires_grad = true;
  }
  return self;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  return assign_inplace(*this, alpha == 1.0 ? add(*this, other) : add(*this, mul(other, wrap_scalar(alpha, other))), "add_");
}
Tensor& Tensor::sub_(const Tensor& other) { return assign_inplace(*this, sub(*this, other), "sub_"); }
namespace {
// Mul and div save their operands for backward, and an in-place write overwrites self (and other,
// when it shares self's memory): when the op is recorded it reads copies, as PyTorch keeps the
// original self of an in-place op.
std::pair<Tensor, Tensor> operands_for_inplace(const Tensor& self, const Tensor& other) {
  if (!is_grad_enabled() || !(self.requires_grad() || other.requires_grad())) return {self, other};
  return {self.clone(), other.storage() == self.storage() ? other.clone() : other};
}
}  // namespace

Tensor& Tensor::mul_(const Tensor& other) {
  auto [a, b] = operands_for_inplace(*this, other);
  return assign_inplace(*this, mul(a, b), "mul_");
}
Tensor& Tensor::div_(const Tensor& other) {
  auto [a, b] = operands_for_inplace(*this, other);
  return assign_inplace(*this, div(a, b), "div_");
}
Tensor& Tensor::add_(double other) { return assign_inplace(*this, add(*this, scalar_tensor(other, dtype())), "add_"); }
Tensor& Tensor::mul_(double other) { return assign_inplace(*this, mul(*this, scalar_tensor(other, dtype())), "mul_"); }

// ---- factories -----------------------------------------------------------------------------------

Tensor empty(const Shape& shape, DType dtype) { return make_tensor(shape, dtype); }

Tensor tensor(std::vector<double> values, Shape shape, DType dtype, bool requires_grad) {
  if (static_cast<int64_t>(values.size()) != shape_numel(shape))
    throw ShapeError("tensor: " + std::to_string(values.size()) + " values do not fill shape " + shape_str(shape));
  Tensor t = make_tensor(shape, dtype);
  BP_DISPATCH_ALL(dtype, "tensor", {
    scalar_t* p = t.data<scalar_t>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<scalar_t>(values[i]);
  });
  if (requires_grad) t.requires_grad_(true);
  return t;
}

Tensor full(const Shape& shape, double value, DType dtype, bool requires_grad) {
  // 2^63 is exact in double; a cast of anything outside [-2^63, 2^63) to int64 is undefined.
  if (dtype == DType::Int64 && !(value >= -0x1p63 && value < 0x1p63))
    throw RuntimeError("value " + number_str(value) + " cannot be converted to type int64 without overflow");
  Tensor t = make_tensor(shape, dtype);
  BP_DISPATCH_ALL(dtype, "full", {
    scalar_t* p = t.data<scalar_t>();
    scalar_t v = static_cast<scalar_t>(value);
    std::fill(p, p + t.numel(), v);
  });
  if (requires_grad) t.requires_grad_(true);
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, bool requires_grad) {
  Tensor t = make_tensor(shape, dtype);
  std::memset(t.data_ptr(), 0, static_cast<size_t>(t.numel()) * element_size(dtype));
  if (requires_grad) t.requires_grad_(true);
  return t;
}

Tensor ones(const Shape& shape, DType dtype, bool requires_grad) { return full(shape, 1.0, dtype, requires_grad); }
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }
Tensor zeros_like(const Tensor& t, bool requires_grad) { return zeros(t.shape(), t.dtype(), requires_grad); }
Tensor ones_like(const Tensor& t, bool requires_grad) { return ones(t.shape(), t.dtype(), requires_grad); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }

Tensor arange(double start, double end, double step, DType dtype) {
  if (step == 0) throw ValueError("arange: step must be nonzero");
  if (!std::isfinite(start) || !std::isfinite(end) || !std::isfinite(step))
    throw ValueError("arange: start, end and step must be finite, got " + std::to_string(start) + ", " +
                     std::to_string(end) + " and " + std::to_string(step));
  if ((end - start) / step < 0)
    throw ValueError("arange: upper bound and larger bound inconsistent with step sign");
  double count = std::ceil((end - start) / step);
  if (!(count < 0x1p62))
    throw RuntimeError("arange: " + std::to_string(count) + " elements is too many; check the bounds and step");
  int64_t n = static_cast<int64_t>(count);
  Tensor t = make_tensor({n}, dtype);
  BP_DISPATCH_ALL(dtype, "arange", {
    scalar_t* p = t.data<scalar_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<scalar_t>(start + static_cast<double>(i) * step);
  });
  return t;
}

Tensor from_blob(void* data, const Shape& shape, const Shape& strides, DType dtype,
                 std::function<void(void*)> release, bool read_only) {
  if (shape.size() != strides.size()) throw ShapeError("from_blob: shape and strides differ in length");
  int64_t extent = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t reach = 0;
    if (shape[i] < 0 || strides[i] == std::numeric_limits<int64_t>::min() ||
        (shape[i] > 0 && (__builtin_mul_overflow(shape[i] - 1, std::abs(strides[i]), &reach) ||
                          __builtin_add_overflow(extent, reach, &extent))))
      throw RuntimeError("from_blob: shape " + shape_str(shape) + " with strides " + shape_str(strides) +
                         " overflows the addressable size");
  }
  auto storage = std::make_shared<Storage>(data, static_cast<size_t>(extent) * element_size(dtype), std::move(release));
  if (read_only) storage->set_read_only();
  return Tensor(std::allocate_shared<TensorImpl>(pool::Allocator<TensorImpl>(), std::move(storage), shape, strides, 0, dtype));
}

// ---- random --------------------------------------------------------------------------------------

namespace {
std::mutex g_rng_mutex;
std::mt19937_64& rng() {
  static std::mt19937_64 gen(5489u);
  return gen;
}
double uniform01(std::mt19937_64& g) { return static_cast<double>(g() >> 11) * 0x1.0p-53; }
}  // namespace

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  rng().seed(seed);
}

std::string get_rng_state() {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  std::ostringstream os;
  os << rng();
  return os.str();
}

void set_rng_state(const std::string& state) {
  std::istringstream is(state);
  std::mt19937_64 restored;
  is >> restored;
  if (is.fail()) throw ValueError("set_rng_state: the state string is not a generator state from get_rng_state()");
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  rng() = restored;
}

void fill_uniform(const Tensor& t, double low, double high) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  auto& g = rng();
  BP_DISPATCH_FLOATING(t.dtype(), "rand", {
    scalar_t* p = t.data<scalar_t>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      scalar_t v = static_cast<scalar_t>(low + (high - low) * uniform01(g));
      // Rounding to float32 can reach `high`; keep the interval half-open.
      if (v >= static_cast<scalar_t>(high) && high > low) v = std::nextafter(static_cast<scalar_t>(high), static_cast<scalar_t>(low));
      p[i] = v;
    }
  });
}

void fill_normal(const Tensor& t, double mean, double std) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  auto& g = rng();
  BP_DISPATCH_FLOATING(t.dtype(), "randn", {
    scalar_t* p = t.data<scalar_t>();
    int64_t n = t.numel();
    for (int64_t i = 0; i < n; i += 2) {
      // Box-Muller: two independent normals from two uniforms.
      double u1 = 1.0 - uniform01(g), u2 = uniform01(g);
      double r = std::sqrt(-2.0 * std::log(u1));
      p[i] = static_cast<scalar_t>(mean + std * r * std::cos(2 * M_PI * u2));
      if (i + 1 < n) p[i + 1] = static_cast<scalar_t>(mean + std * r * std::sin(2 * M_PI * u2));
    }
  });
}

Tensor rand(const Shape& shape, DType dtype, bool requires_grad) {
  Tensor t = make_tensor(shape, dtype);
  fill_uniform(t, 0.0, 1.0);
  if (requires_grad) t.requires_grad_(true);
  return t;
}

Tensor randn(const Shape& shape, DType dtype, bool requires_grad) {
  Tensor t = make_tensor(shape, dtype);
  fill_normal(t, 0.0, 1.0);
  if (requires_grad) t.requires_grad_(true);
  return t;
}

Tensor randint(int64_t low, int64_t high, const Shape& shape) {
  if (high <= low) throw ValueError("randint: high must be greater than low");
  Tensor t = make_tensor(shape, DType::Int64);
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  auto& g = rng();
  uint64_t range = static_cast<uint64_t>(high - low);
  int64_t* p = t.data<int64_t>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = low + static_cast<int64_t>(g() % range);
  return t;
}

std::vector<bool> random_mask(int64_t n, double keep_prob) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  auto& g = rng();
  std::vector<bool> mask(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) mask[i] = uniform01(g) < keep_prob;
  return mask;
}

// ---- threads -------------------------------------------------------------------------------------

void set_num_threads(int n) {
  if (n < 1) throw ValueError("set_num_threads: expected a positive number of threads, got " + std::to_string(n));
  kernels::set_max_threads(n);
}

int get_num_threads() { return kernels::max_threads(); }

}  // namespace backprop
