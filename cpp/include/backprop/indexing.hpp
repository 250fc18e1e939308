#pragma once
/// \file indexing.hpp
/// NumPy-style indexing from C++, as libtorch's `torch::indexing`:
///
///     using namespace backprop::indexing;
///     Tensor row = x.index({Slice(0, 2), 1});        // x[0:2, 1]
///     Tensor last = x.index({Ellipsis, -1});          // x[..., -1]
///     Tensor col = x.index({Slice(), None, 0});       // x[:, None, 0]
///     Tensor picked = x.index({mask});                // x[mask] for a Bool tensor
///     x.index_put_({Slice(1, None), 0}, 0.0);         // x[1:, 0] = 0
///
/// Integers, slices, None and Ellipsis select a view; Int64 and Bool tensors are "advanced"
/// indices that gather a copy, with NumPy's rules for where their broadcast dims go.
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "backprop/tensor.hpp"

namespace backprop::indexing {

/// A new axis of size 1 (`x[None]`), or an absent slice bound (`Slice(None, 2)`).
inline constexpr std::nullopt_t None = std::nullopt;

struct EllipsisIndexType {};
/// As many full slices as the other indices leave dims (`x[..., 0]`).
inline constexpr EllipsisIndexType Ellipsis{};

/// Python's `start:stop:step`; absent bounds take the whole dim. Negative bounds count from the
/// end and out-of-range bounds are clipped, as in Python; the step must be positive.
class Slice {
 public:
  Slice(std::optional<int64_t> start = std::nullopt, std::optional<int64_t> stop = std::nullopt,
        std::optional<int64_t> step = std::nullopt)
      : start_(start), stop_(stop), step_(step) {}
  std::optional<int64_t> start() const { return start_; }
  std::optional<int64_t> stop() const { return stop_; }
  std::optional<int64_t> step() const { return step_; }

 private:
  std::optional<int64_t> start_, stop_, step_;
};

/// One item of an index: an integer, a bool, a Slice, None, Ellipsis or a Tensor.
class TensorIndex {
 public:
  enum class Kind { None, Ellipsis, Integer, Boolean, Slice, Tensor };

  TensorIndex(std::nullopt_t) : kind_(Kind::None) {}
  TensorIndex(EllipsisIndexType) : kind_(Kind::Ellipsis) {}
  /// "..." as libtorch accepts it; any other string throws TypeError.
  TensorIndex(const char* text);
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  TensorIndex(T i) : kind_(Kind::Integer), integer_(static_cast<int64_t>(i)) {}
  /// `x[True]` adds a dim of size 1 and `x[False]` one of size 0, as a 0-d mask does in NumPy.
  TensorIndex(bool b) : kind_(Kind::Boolean), boolean_(b) {}
  TensorIndex(Slice s) : kind_(Kind::Slice), slice_(s) {}
  /// An Int64 tensor of positions or a Bool mask.
  TensorIndex(Tensor t) : kind_(Kind::Tensor), tensor_(std::move(t)) {}

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_ellipsis() const { return kind_ == Kind::Ellipsis; }
  bool is_integer() const { return kind_ == Kind::Integer; }
  bool is_boolean() const { return kind_ == Kind::Boolean; }
  bool is_slice() const { return kind_ == Kind::Slice; }
  bool is_tensor() const { return kind_ == Kind::Tensor; }
  int64_t integer() const { return integer_; }
  bool boolean() const { return boolean_; }
  const Slice& slice() const { return slice_; }
  const Tensor& tensor() const { return tensor_; }

 private:
  Kind kind_;
  int64_t integer_ = 0;
  bool boolean_ = false;
  Slice slice_;
  Tensor tensor_;
};

}  // namespace backprop::indexing

namespace backprop {

/// `x[indices]` as a free function; see Tensor::index.
Tensor index(const Tensor& x, const std::vector<indexing::TensorIndex>& indices);
/// `x[indices] = value` as a free function; see Tensor::index_put_.
Tensor& index_put_(Tensor& x, const std::vector<indexing::TensorIndex>& indices, const Tensor& value);

}  // namespace backprop
