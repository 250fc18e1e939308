#pragma once
// A small JSON reader and string escaper, enough for safetensors headers. Throws
// std::runtime_error with the byte offset on malformed input.
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace backprop::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  double number = 0;
  bool integral = false;
  int64_t integer = 0;
  std::string string;
  std::vector<Value> array;
  std::vector<std::pair<std::string, Value>> object;  // file order

  const Value* find(const std::string& key) const;
};

Value parse(const std::string& text);
/// `s` as a quoted JSON string.
std::string quote(const std::string& s);

}  // namespace backprop::json
