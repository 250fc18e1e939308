#pragma once
// Runs a templated body once per dtype with `scalar_t` bound to the element type.
#include <cstdint>
#include <string>

#include "backprop/tensor.hpp"

#define BP_DISPATCH_CASE(ENUM, TYPE, ...) \
  case ::backprop::DType::ENUM: {         \
    using scalar_t = TYPE;                \
    __VA_ARGS__;                          \
    break;                                \
  }

/// float and double.
#define BP_DISPATCH_FLOATING(dtype, op, ...)                                                    \
  switch (dtype) {                                                                              \
    BP_DISPATCH_CASE(Float32, float, __VA_ARGS__)                                               \
    BP_DISPATCH_CASE(Float64, double, __VA_ARGS__)                                              \
    default:                                                                                    \
      throw ::backprop::TypeError(std::string(op) + ": expected a float32 or float64 tensor, got " + \
                                  ::backprop::dtype_name(dtype));                               \
  }

/// float, double and int64.
#define BP_DISPATCH_NUMERIC(dtype, op, ...)                                                     \
  switch (dtype) {                                                                              \
    BP_DISPATCH_CASE(Float32, float, __VA_ARGS__)                                               \
    BP_DISPATCH_CASE(Float64, double, __VA_ARGS__)                                              \
    BP_DISPATCH_CASE(Int64, int64_t, __VA_ARGS__)                                               \
    default:                                                                                    \
      throw ::backprop::TypeError(std::string(op) + ": expected a numeric tensor, got " +      \
                                  ::backprop::dtype_name(dtype));                               \
  }

/// Every dtype, bool included.
#define BP_DISPATCH_ALL(dtype, op, ...)                \
  switch (dtype) {                                     \
    BP_DISPATCH_CASE(Float32, float, __VA_ARGS__)      \
    BP_DISPATCH_CASE(Float64, double, __VA_ARGS__)     \
    BP_DISPATCH_CASE(Int64, int64_t, __VA_ARGS__)      \
    BP_DISPATCH_CASE(Bool, bool, __VA_ARGS__)          \
  }
