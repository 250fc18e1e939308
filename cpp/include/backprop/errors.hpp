#pragma once
/// \file errors.hpp
/// Typed exceptions thrown by every misuse of the public API. The Python bindings map them to
/// ValueError, TypeError, IndexError and RuntimeError (SerializationError to its own subclass).
#include <stdexcept>
#include <string>

namespace backprop {

/// Shapes that cannot broadcast, matmul inner sizes that differ, a view that does not fit.
struct ShapeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
/// A bad value that is not a shape: an option out of range (a probability, a number of threads,
/// a reduction or activation name), an empty list where one is required.
struct ValueError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
/// Wrong or mixed dtypes.
struct TypeError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
/// Index or dimension out of range.
struct IndexError : std::out_of_range {
  using std::out_of_range::out_of_range;
};
/// Misuse of autograd state: a freed graph, a modified saved tensor, in-place on a leaf.
struct RuntimeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// A file that save() cannot write or load() cannot read: missing, not a regular file,
/// truncated, or not a valid safetensors file. The message names the file and what is wrong.
/// Python sees it as backprop.SerializationError, a subclass of RuntimeError.
struct SerializationError : RuntimeError {
  using RuntimeError::RuntimeError;
};

}  // namespace backprop
