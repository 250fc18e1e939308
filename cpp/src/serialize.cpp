// save/load of named tensors in the safetensors layout (little-endian hosts).
#include "backprop/serialize.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "backprop/autograd.hpp"
#include "json.hpp"
#include "tensor_impl.hpp"

namespace backprop {
namespace {

const char* safetensors_dtype(DType d) {
  switch (d) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
    case DType::Bool: return "BOOL";
  }
  return "F32";
}

bool parse_dtype(const std::string& s, DType* out) {
  if (s == "F32") *out = DType::Float32;
  else if (s == "F64") *out = DType::Float64;
  else if (s == "I64") *out = DType::Int64;
  else if (s == "BOOL") *out = DType::Bool;
  else return false;
  return true;
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw RuntimeError("load: '" + path + "' is not a valid safetensors file: " + what);
}

}  // namespace

void save(const std::map<std::string, Tensor>& tensors, const std::string& path,
          const std::map<std::string, std::string>& metadata) {
  NoGradGuard no_grad;
  std::vector<Tensor> data;
  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool mfirst = true;
    for (const auto& [k, v] : metadata) {
      header += (mfirst ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      mfirst = false;
    }
    header += "}";
    first = false;
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) throw ValueError("save: tensor '" + name + "' is undefined");
    if (name == "__metadata__") throw ValueError("save: '__metadata__' is reserved and cannot name a tensor");
    Tensor c = t.contiguous();
    uint64_t bytes = static_cast<uint64_t>(c.numel()) * element_size(c.dtype());
    std::ostringstream entry;
    entry << json::quote(name) << ":{\"dtype\":\"" << safetensors_dtype(c.dtype()) << "\",\"shape\":[";
    for (size_t i = 0; i < c.shape().size(); ++i) entry << (i ? "," : "") << c.shape()[i];
    entry << "],\"data_offsets\":[" << offset << "," << offset + bytes << "]}";
    header += (first ? "" : ",") + entry.str();
    first = false;
    offset += bytes;
    data.push_back(c);
  }
  header += "}";
  // The data section starts 8-byte aligned, as the safetensors package writes it.
  while ((header.size() % 8) != 0) header += ' ';

  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw RuntimeError("save: cannot open '" + tmp + "' for writing: " + std::strerror(errno));
  auto write_all = [&](const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f) != n) {
      int err = errno;
      std::fclose(f);
      std::remove(tmp.c_str());
      throw RuntimeError("save: writing '" + path + "' failed: " + std::strerror(err));
    }
  };
  uint64_t n = header.size();
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xFF);
  write_all(len, 8);
  write_all(header.data(), header.size());
  for (const Tensor& c : data) write_all(c.data_ptr(), static_cast<size_t>(c.numel()) * element_size(c.dtype()));
  if (std::fflush(f) != 0 || ::fsync(fileno(f)) != 0) {
    int err = errno;
    std::fclose(f);
    std::remove(tmp.c_str());
    throw RuntimeError("save: flushing '" + path + "' failed: " + std::strerror(err));
  }
  std::fclose(f);
  // rename() replaces the old file in one step: readers see the old file or the new one.
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    std::remove(tmp.c_str());
    throw RuntimeError("save: cannot move the new file into place at '" + path + "': " + std::strerror(err));
  }
}

std::map<std::string, Tensor> load(const std::string& path, std::map<std::string, std::string>* metadata) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw RuntimeError("load: cannot open '" + path + "': " + std::strerror(errno));
  uint64_t file_size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  if (file_size < 8) fail(path, "it is shorter than the 8-byte header length (truncated?)");
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(len[i]) << (8 * i);
  if (n > file_size - 8) fail(path, "the header length " + std::to_string(n) + " exceeds the file (truncated?)");
  if (n > (100u << 20)) fail(path, "the header is implausibly large (" + std::to_string(n) + " bytes)");
  std::string header(static_cast<size_t>(n), '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  json::Value root;
  try {
    root = json::parse(header);
  } catch (const std::exception& e) {
    fail(path, std::string("the header is not valid JSON (") + e.what() + ")");
  }
  if (root.kind != json::Value::Kind::Object) fail(path, "the header is not a JSON object");
  uint64_t data_size = file_size - 8 - n;
  std::map<std::string, Tensor> out;
  for (const auto& [name, entry] : root.object) {
    if (name == "__metadata__") {
      if (metadata && entry.kind == json::Value::Kind::Object)
        for (const auto& [k, v] : entry.object)
          if (v.kind == json::Value::Kind::String) (*metadata)[k] = v.string;
      continue;
    }
    const json::Value* dtype = entry.find("dtype");
    const json::Value* shape = entry.find("shape");
    const json::Value* offsets = entry.find("data_offsets");
    if (!dtype || !shape || !offsets || dtype->kind != json::Value::Kind::String ||
        shape->kind != json::Value::Kind::Array || offsets->kind != json::Value::Kind::Array ||
        offsets->array.size() != 2)
      fail(path, "entry '" + name + "' lacks dtype, shape or data_offsets");
    DType dt;
    if (!parse_dtype(dtype->string, &dt))
      fail(path, "entry '" + name + "' has dtype " + dtype->string +
                     ", which backprop does not support (F32, F64, I64 and BOOL are)");
    Shape s;
    int64_t numel = 1;
    for (const auto& d : shape->array) {
      if (d.kind != json::Value::Kind::Number || !d.integral || d.integer < 0 ||
          __builtin_mul_overflow(numel, d.integer, &numel) || numel > (int64_t{1} << 50))
        fail(path, "entry '" + name + "' has an invalid shape");
      s.push_back(d.integer);
    }
    const auto& b = offsets->array[0];
    const auto& e = offsets->array[1];
    if (!b.integral || !e.integral || b.integer < 0 || e.integer < b.integer)
      fail(path, "entry '" + name + "' has invalid data_offsets");
    uint64_t begin = static_cast<uint64_t>(b.integer), end = static_cast<uint64_t>(e.integer);
    uint64_t expected = static_cast<uint64_t>(shape_numel(s)) * element_size(dt);
    if (end - begin != expected)
      fail(path, "entry '" + name + "' holds " + std::to_string(end - begin) + " bytes but its shape needs " +
                     std::to_string(expected));
    if (end > data_size)
      fail(path, "entry '" + name + "' ends at byte " + std::to_string(end) + " beyond the data section of " +
                     std::to_string(data_size) + " bytes (truncated?)");
    Tensor t = make_tensor(s, dt);
    in.seekg(static_cast<std::streamoff>(8 + n + begin));
    in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(expected));
    if (!in) fail(path, "reading entry '" + name + "' failed (truncated?)");
    out.emplace(name, t);
  }
  return out;
}

}  // namespace backprop
