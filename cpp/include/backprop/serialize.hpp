#pragma once
/// \file serialize.hpp
/// Named tensors on disk in the safetensors layout: an 8-byte little-endian header length, a
/// JSON header ({"name": {"dtype", "shape", "data_offsets"}, "__metadata__": {...}}) and the
/// raw little-endian data. Files written by Python's backprop.save, by the safetensors package
/// and by save() below are interchangeable.
#include <map>
#include <string>

#include "backprop/tensor.hpp"

namespace backprop {

/// Writes `tensors` (and string `metadata`) to `path` atomically: a crash mid-write leaves any
/// previous file whole.
void save(const std::map<std::string, Tensor>& tensors, const std::string& path,
          const std::map<std::string, std::string>& metadata = {});

/// Reads every tensor of a safetensors file. Throws RuntimeError naming the file when it is
/// missing, truncated or corrupted.
std::map<std::string, Tensor> load(const std::string& path,
                                   std::map<std::string, std::string>* metadata = nullptr);

}  // namespace backprop
