#include "serialize/json.h"

#include <limits>
#include <unordered_set>

#include "bg/core/error.h"

namespace bg::detail::json {

Value Value::of_integer(int64_t value) {
  Value out;
  out.kind = Kind::Integer;
  out.integer = value;
  return out;
}

Value Value::of_string(std::string value) {
  Value out;
  out.kind = Kind::String;
  out.string = std::move(value);
  return out;
}

Value Value::of_array(std::vector<Value> elements) {
  Value out;
  out.kind = Kind::Array;
  out.array = std::move(elements);
  return out;
}

Value Value::of_object(std::vector<Member> members) {
  Value out;
  out.kind = Kind::Object;
  out.object = std::move(members);
  return out;
}

const char* Value::kind_name() const {
  switch (kind) {
    case Kind::Integer:
      return "an integer";
    case Kind::String:
      return "a string";
    case Kind::Array:
      return "an array";
    case Kind::Object:
      return "an object";
  }
  return "a value";
}

const Value* Value::find(std::string_view key) const {
  for (const Member& member : object) {
    if (member.key == key) return &member.value;
  }
  return nullptr;
}

namespace {

// The length of the UTF-8 sequence starting at text[pos], or 0 if it is not a valid one (overlong
// forms, surrogates and code points above U+10FFFF are invalid, as RFC 3629 says).
size_t utf8_sequence_length(std::string_view text, size_t pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80;  // the range the second byte must fall in
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  if (byte(pos + 1) < low || byte(pos + 1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(pos + i) < 0x80 || byte(pos + i) > 0xBF) return 0;
  }
  return length;
}

void append_utf8(std::string& out, uint32_t code_point) {
  if (code_point < 0x80) {
    out += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    out += static_cast<char>(0xC0 | (code_point >> 6));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    out += static_cast<char>(0xE0 | (code_point >> 12));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code_point >> 18));
    out += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// How messages show one input byte: 'x' when printable, else its hex value.
std::string describe_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7F) return std::string("'") + c + "'";
  static const char kHex[] = "0123456789abcdef";
  return std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 0xF];
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view where, size_t base)
      : text_(text), where_(where), base_(base) {}

  Value parse_document() {
    skip_whitespace();
    Value value = parse_value(0);
    skip_whitespace();
    if (pos_ != text_.size())
      fail(pos_, "unexpected " + describe_byte(text_[pos_]) + " after the value");
    return value;
  }

 private:
  [[noreturn]] void fail(size_t pos, const std::string& what) const {
    throw Error(detail::concat(where_, ": invalid JSON at byte ", base_ + pos, ": ", what));
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  void skip_whitespace() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++pos_;
    }
  }

  // Consumes `c` (after optional whitespace) or fails saying what was expected.
  void expect(char c, const char* context) {
    skip_whitespace();
    if (at_end())
      fail(pos_, std::string("unexpected end of input, expected '") + c + "' " + context);
    if (peek() != c) {
      fail(pos_,
           "expected '" + std::string(1, c) + "' " + context + ", found " + describe_byte(peek()));
    }
    ++pos_;
  }

  Value parse_value(int depth) {
    skip_whitespace();
    if (at_end()) fail(pos_, "unexpected end of input, expected a value");
    const char c = peek();
    if (c == '{' || c == '[') {
      if (depth >= kMaxDepth)
        fail(pos_, detail::concat("nesting deeper than ", kMaxDepth, " levels"));
      return c == '{' ? parse_object(depth + 1) : parse_array(depth + 1);
    }
    if (c == '"') {
      const size_t start = pos_;
      Value value = Value::of_string(parse_string());
      value.offset = base_ + start;
      return value;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return parse_integer();
    fail(pos_, "expected an object, array, string or integer, found " + describe_byte(c));
  }

  Value parse_object(int depth) {
    Value value = Value::of_object({});
    value.offset = base_ + pos_;
    ++pos_;  // '{'
    skip_whitespace();
    if (!at_end() && peek() == '}') {
      ++pos_;
      return value;
    }
    // A set, not a scan of the members: a header may have many thousands of keys.
    std::unordered_set<std::string> keys;
    while (true) {
      skip_whitespace();
      if (at_end()) fail(pos_, "unexpected end of input, expected a key");
      if (peek() != '"') fail(pos_, "expected a string key, found " + describe_byte(peek()));
      const size_t key_pos = pos_;
      std::string key = parse_string();
      if (!keys.insert(key).second) fail(key_pos, "duplicate key \"" + key + "\"");
      expect(':', "after an object key");
      Value member = parse_value(depth);
      value.object.push_back(Member{std::move(key), std::move(member), base_ + key_pos});
      skip_whitespace();
      if (!at_end() && peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}', "or ',' in an object");
      return value;
    }
  }

  Value parse_array(int depth) {
    Value value = Value::of_array({});
    value.offset = base_ + pos_;
    ++pos_;  // '['
    skip_whitespace();
    if (!at_end() && peek() == ']') {
      ++pos_;
      return value;
    }
    while (true) {
      value.array.push_back(parse_value(depth));
      skip_whitespace();
      if (!at_end() && peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']', "or ',' in an array");
      return value;
    }
  }

  // Reads the 4 hex digits of a \u escape.
  uint32_t parse_hex4() {
    if (pos_ + 4 > text_.size()) fail(pos_, "unexpected end of input in a \\u escape");
    uint32_t code = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_];
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        fail(pos_, "expected a hex digit in a \\u escape, found " + describe_byte(c));
      }
      code = code * 16 + digit;
      ++pos_;
    }
    return code;
  }

  // A \u escape (the "\u" already consumed), with a surrogate pair counting as one code point.
  uint32_t parse_unicode_escape(size_t escape_pos) {
    const uint32_t code = parse_hex4();
    if (code >= 0xDC00 && code <= 0xDFFF) fail(escape_pos, "lone low surrogate in a \\u escape");
    if (code < 0xD800 || code > 0xDBFF) return code;
    if (text_.substr(pos_, 2) != "\\u") {
      fail(escape_pos, "high surrogate not followed by a low surrogate \\u escape");
    }
    pos_ += 2;
    const uint32_t low = parse_hex4();
    if (low < 0xDC00 || low > 0xDFFF) {
      fail(escape_pos, "high surrogate not followed by a low surrogate \\u escape");
    }
    return 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
  }

  std::string parse_string() {
    ++pos_;  // '"'
    std::string out;
    while (true) {
      if (at_end()) fail(pos_, "unexpected end of input in a string");
      const char c = peek();
      const auto byte = static_cast<unsigned char>(c);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (byte < 0x20)
        fail(pos_, "unescaped control character " + describe_byte(c) + " in a string");
      if (c == '\\') {
        const size_t escape_pos = pos_;
        ++pos_;
        if (at_end()) fail(pos_, "unexpected end of input in an escape");
        const char e = peek();
        ++pos_;
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u':
            append_utf8(out, parse_unicode_escape(escape_pos));
            break;
          default:
            fail(escape_pos, "invalid escape '\\" + std::string(1, e) + "'");
        }
        continue;
      }
      const size_t length = utf8_sequence_length(text_, pos_);
      if (length == 0) fail(pos_, "invalid UTF-8 " + describe_byte(c) + " in a string");
      out.append(text_.substr(pos_, length));
      pos_ += length;
    }
  }

  Value parse_integer() {
    const size_t start = pos_;
    const bool negative = peek() == '-';
    if (negative) ++pos_;
    if (at_end() || peek() < '0' || peek() > '9') fail(start, "expected a digit after '-'");
    // Accumulate the magnitude as unsigned so that INT64_MIN is representable.
    const uint64_t limit = negative ? uint64_t{1} << 63 : std::numeric_limits<int64_t>::max();
    uint64_t magnitude = 0;
    const size_t first_digit = pos_;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      const auto digit = static_cast<uint64_t>(peek() - '0');
      if (magnitude > (limit - digit) / 10) fail(start, "integer out of the 64-bit range");
      magnitude = magnitude * 10 + digit;
      ++pos_;
    }
    if (text_[first_digit] == '0' && pos_ - first_digit > 1) {
      fail(start, "integers may not have leading zeros");
    }
    if (!at_end() && (peek() == '.' || peek() == 'e' || peek() == 'E')) {
      fail(start, "only integers are allowed here, not fractions or exponents");
    }
    const int64_t number =
        negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    Value value = Value::of_integer(number);
    value.offset = base_ + start;
    return value;
  }

  std::string_view text_;
  std::string_view where_;
  size_t base_;
  size_t pos_ = 0;
};

void write_string(std::string& out, std::string_view text) {
  if (const auto bad = invalid_utf8(text)) {
    throw Error(detail::concat("json: the string \"", text.substr(0, *bad),
                               "...\" is not valid UTF-8 at byte ", *bad));
  }
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20) {
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xF];
        } else {
          out += c;  // UTF-8 passes through: JSON text is UTF-8
        }
    }
  }
  out += '"';
}

void write_value(std::string& out, const Value& value) {
  switch (value.kind) {
    case Value::Kind::Integer:
      out += std::to_string(value.integer);
      return;
    case Value::Kind::String:
      write_string(out, value.string);
      return;
    case Value::Kind::Array:
      out += '[';
      for (size_t i = 0; i < value.array.size(); ++i) {
        if (i > 0) out += ',';
        write_value(out, value.array[i]);
      }
      out += ']';
      return;
    case Value::Kind::Object:
      out += '{';
      for (size_t i = 0; i < value.object.size(); ++i) {
        if (i > 0) out += ',';
        write_string(out, value.object[i].key);
        out += ':';
        write_value(out, value.object[i].value);
      }
      out += '}';
      return;
  }
}

}  // namespace

Value parse(std::string_view text, std::string_view where, size_t base) {
  return Parser(text, where, base).parse_document();
}

std::string write(const Value& value) {
  std::string out;
  write_value(out, value);
  return out;
}

std::optional<size_t> invalid_utf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t length = utf8_sequence_length(text, pos);
    if (length == 0) return pos;
    pos += length;
  }
  return std::nullopt;
}

}  // namespace bg::detail::json
