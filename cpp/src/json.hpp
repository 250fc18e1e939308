#pragma once
// A strict, pull-style JSON reader for safetensors headers, and a string escaper for writing them.
// Headers come from files of unknown origin and may be 100 MB: the reader builds no tree, works in
// one pass (linear time, memory only for the strings and numbers it hands out), never recurses,
// and throws json::Error (with the byte offset) on anything RFC 8259 does not allow.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace backprop::json {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Where the first byte that is not valid UTF-8 starts (overlong forms, surrogates and code
/// points above U+10FFFF included), or std::string_view::npos when all of `text` is valid.
size_t invalid_utf8_at(std::string_view text);

/// Reads one JSON text. The caller asks for what it expects next; anything else throws. The
/// text must outlive the reader.
class Reader {
 public:
  /// Containers nested deeper than this are refused (by skip_value, the only recursive shape).
  static constexpr int kMaxDepth = 128;

  explicit Reader(std::string_view text) : s_(text) {}

  size_t pos() const { return pos_; }
  /// The next significant character, or 0 at the end of the text.
  char peek();
  /// True at the end of the text (only whitespace left).
  bool at_end() { return peek() == 0; }

  /// Starts an object; then call next_member until it returns false.
  void begin_object() {
    expect('{');
    after_open_ = true;
  }
  /// Reads the next key and its ':' into `key`; false when the object ends. Members are read in
  /// order: the caller reads (or skips) each value before asking for the next key.
  bool next_member(std::string* key);
  /// Starts an array; then call next_element until it returns false.
  void begin_array() {
    expect('[');
    after_open_ = true;
  }
  /// True when another element follows (the caller then reads it); false when the array ends.
  bool next_element();

  /// A string value, unescaped to UTF-8. Lone surrogates and raw control characters are refused.
  std::string string();
  /// A non-negative integer without fraction or exponent that fits in 64 bits.
  uint64_t unsigned_integer();
  /// Consumes `null` if it is next.
  bool null();
  /// Skips any one value, nested containers included (iteratively, at most kMaxDepth deep).
  void skip_value();

  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string_view s_;
  size_t pos_ = 0;
  // Nothing was read since the last '{' or '[': the next member or element needs no comma.
  bool after_open_ = false;

  void skip_space();
  void expect(char c);
  void literal(std::string_view word);
  void number();
  unsigned hex4();
};

/// `s` as a quoted JSON string (control characters escaped; other bytes as they are).
std::string quote(std::string_view s);

}  // namespace backprop::json
