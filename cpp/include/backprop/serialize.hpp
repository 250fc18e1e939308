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

/// Writes `tensors` (and string `metadata`) to `path` atomically: the data goes to a temporary
/// file next to `path`, is synced, renamed over `path`, and the directory is synced. A crash
/// mid-write leaves any previous file whole; the temporary file of a writer that died is removed
/// by the next save to the same path. Names and metadata must be UTF-8. Throws
/// SerializationError naming the path when the file cannot be written.
void save(const std::map<std::string, Tensor>& tensors, const std::string& path,
          const std::map<std::string, std::string>& metadata = {});

/// Reads every tensor of a safetensors file. Throws SerializationError (a RuntimeError) naming
/// the file and the fault when it is missing, not a regular file, truncated, or breaks the
/// format: a header over 100 MB or not a UTF-8 JSON object, duplicate names, a dtype other than
/// F32, F64, I64 or BOOL, a shape that disagrees with its byte range, or byte ranges that overlap,
/// leave holes or run past the end. Every check runs before any tensor is allocated.
std::map<std::string, Tensor> load(const std::string& path,
                                   std::map<std::string, std::string>* metadata = nullptr);

}  // namespace backprop
