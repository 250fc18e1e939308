#include "json.hpp"

#include <cstdio>
#include <vector>

namespace backprop::json {

size_t invalid_utf8_at(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
    else return i;
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

void Reader::fail(const std::string& what) const {
  throw Error("invalid JSON at byte " + std::to_string(pos_) + ": " + what);
}

void Reader::skip_space() {
  while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
}

char Reader::peek() {
  skip_space();
  return pos_ < s_.size() ? s_[pos_] : 0;
}

void Reader::expect(char c) {
  char got = peek();
  if (got != c) fail(std::string("expected '") + c + "'" + (got ? "" : " but the text ended"));
  ++pos_;
}

void Reader::literal(std::string_view word) {
  if (s_.substr(pos_, word.size()) != word) fail("expected a value");
  pos_ += word.size();
}

bool Reader::next_member(std::string* key) {
  char c = peek();
  if (c == '}') {
    ++pos_;
    after_open_ = false;
    return false;
  }
  if (!after_open_) {
    if (c != ',') fail("expected ',' or '}'");
    ++pos_;
  }
  if (peek() != '"') fail("expected a key");
  *key = string();
  expect(':');
  if (peek() == 0) fail("expected a value but the text ended");
  return true;
}

bool Reader::next_element() {
  char c = peek();
  if (c == ']') {
    ++pos_;
    after_open_ = false;
    return false;
  }
  if (!after_open_) {
    if (c != ',') fail("expected ',' or ']'");
    ++pos_;
  }
  after_open_ = false;
  if (peek() == ']') fail("expected a value after ','");
  return true;
}

unsigned Reader::hex4() {
  if (s_.size() - pos_ < 4) fail("short \\u escape");
  unsigned v = 0;
  for (int k = 0; k < 4; ++k) {
    char h = s_[pos_++];
    v <<= 4;
    if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
    else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
    else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
    else fail("bad hex digit in \\u escape");
  }
  return v;
}

std::string Reader::string() {
  expect('"');
  after_open_ = false;
  std::string out;
  while (true) {
    // Copy the run up to the next quote, backslash or control character in one step.
    size_t run = pos_;
    while (run < s_.size() && s_[run] != '"' && s_[run] != '\\' && static_cast<unsigned char>(s_[run]) >= 0x20) ++run;
    out.append(s_.data() + pos_, run - pos_);
    pos_ = run;
    if (pos_ >= s_.size()) fail("unterminated string");
    char c = s_[pos_++];
    if (c == '"') return out;
    if (c != '\\') {
      --pos_;
      fail("raw control character in a string");
    }
    if (pos_ >= s_.size()) fail("unterminated escape");
    char e = s_[pos_++];
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t code = hex4();
        if (code >= 0xDC00 && code <= 0xDFFF) fail("lone low surrogate in \\u escape");
        if (code >= 0xD800 && code <= 0xDBFF) {
          if (s_.substr(pos_, 2) != "\\u") fail("high surrogate not followed by a low surrogate");
          pos_ += 2;
          uint32_t low = hex4();
          if (low < 0xDC00 || low > 0xDFFF) fail("high surrogate not followed by a low surrogate");
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        }
        if (code < 0x80) {
          out += static_cast<char>(code);
        } else if (code < 0x800) {
          out += static_cast<char>(0xC0 | (code >> 6));
          out += static_cast<char>(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
          out += static_cast<char>(0xE0 | (code >> 12));
          out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (code & 0x3F));
        } else {
          out += static_cast<char>(0xF0 | (code >> 18));
          out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
          out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (code & 0x3F));
        }
        break;
      }
      default: --pos_; fail("unknown escape");
    }
  }
}

// The RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
void Reader::number() {
  auto digit = [&] { return pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9'; };
  auto digits = [&] {
    if (!digit()) fail("expected a digit");
    while (digit()) ++pos_;
  };
  if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
  if (!digit()) fail("expected a value");
  if (s_[pos_] == '0') ++pos_;
  else digits();
  if (pos_ < s_.size() && s_[pos_] == '.') {
    ++pos_;
    digits();
  }
  if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
    ++pos_;
    if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
    digits();
  }
}

uint64_t Reader::unsigned_integer() {
  char c = peek();
  size_t start = pos_;
  if (c == '-') fail("expected a non-negative integer, got a negative number");
  if (c < '0' || c > '9') fail("expected a non-negative integer");
  number();
  after_open_ = false;
  std::string_view text = s_.substr(start, pos_ - start);
  if (text.find_first_of(".eE") != std::string_view::npos) {
    pos_ = start;
    fail("expected an integer, got '" + std::string(text.substr(0, 40)) + "'");
  }
  if (text.size() > 1 && text[0] == '0') {
    pos_ = start;
    fail("leading zero in a number");
  }
  uint64_t v = 0;
  for (char d : text) {
    if (__builtin_mul_overflow(v, uint64_t{10}, &v) || __builtin_add_overflow(v, uint64_t(d - '0'), &v)) {
      pos_ = start;
      fail("integer " + std::string(text.substr(0, 40)) + " does not fit in 64 bits");
    }
  }
  return v;
}

bool Reader::null() {
  if (peek() != 'n') return false;
  literal("null");
  after_open_ = false;
  return true;
}

void Reader::skip_value() {
  // A stack of the open containers' closing brackets; `expect_value` is false right after a
  // container's last value, when only ',' or its closing bracket may follow.
  std::vector<char> open;
  bool expect_value = true;
  while (true) {
    char c = peek();
    if (expect_value) {
      switch (c) {
        case '{':
        case '[':
          if (static_cast<int>(open.size()) >= kMaxDepth)
            fail("containers nested more than " + std::to_string(kMaxDepth) + " deep");
          ++pos_;
          open.push_back(c == '{' ? '}' : ']');
          if (peek() == open.back()) {
            ++pos_;
            open.pop_back();
            expect_value = false;
          } else if (c == '{') {
            if (peek() != '"') fail("expected a key");
            string();
            expect(':');
          }
          break;
        case '"': string(); expect_value = false; break;
        case 't': literal("true"); expect_value = false; break;
        case 'f': literal("false"); expect_value = false; break;
        case 'n': literal("null"); expect_value = false; break;
        case 0: fail("expected a value but the text ended");
        default:
          if (c != '-' && (c < '0' || c > '9')) fail("expected a value");
          number();
          expect_value = false;
      }
      if (open.empty() && !expect_value) break;
      continue;
    }
    if (open.empty()) break;
    if (c == open.back()) {
      ++pos_;
      open.pop_back();
      if (open.empty()) break;
    } else if (c == ',') {
      ++pos_;
      expect_value = true;
      if (open.back() == '}') {
        if (peek() != '"') fail("expected a key");
        string();
        expect(':');
      }
    } else {
      fail(std::string("expected ',' or '") + open.back() + "'");
    }
  }
  after_open_ = false;
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

}  // namespace backprop::json
