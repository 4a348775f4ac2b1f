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

const char* kind_name(Value::Kind kind) {
  using Kind = Value::Kind;
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

const char* Value::kind_name() const { return json::kind_name(kind); }

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

// ---- Reader ------------------------------------------------------------------------------------

Reader::Reader(std::string_view text, std::string_view where, size_t base)
    : text_(text), where_(where), base_(base) {}

void Reader::fail(size_t offset, const std::string& what) const {
  throw Error(detail::concat(where_, ": invalid JSON at byte ", offset, ": ", what));
}

void Reader::fail_here(const std::string& what) const { fail(base_ + pos_, what); }

void Reader::skip_whitespace() {
  while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
    ++pos_;
  }
}

void Reader::expect(char c, const char* context) {
  skip_whitespace();
  if (at_end()) fail_here(std::string("unexpected end of input, expected '") + c + "' " + context);
  if (peek() != c) {
    fail_here("expected '" + std::string(1, c) + "' " + context + ", found " +
              describe_byte(peek()));
  }
  ++pos_;
}

Value::Kind Reader::next_kind() {
  skip_whitespace();
  if (at_end()) fail_here("unexpected end of input, expected a value");
  const char c = peek();
  if (c == '{') return Value::Kind::Object;
  if (c == '[') return Value::Kind::Array;
  if (c == '"') return Value::Kind::String;
  if (c == '-' || (c >= '0' && c <= '9')) return Value::Kind::Integer;
  fail_here("expected an object, array, string or integer, found " + describe_byte(c));
}

size_t Reader::offset() {
  skip_whitespace();
  return base_ + pos_;
}

void Reader::open(Value::Kind kind) {
  if (next_kind() != kind) {
    fail_here(std::string("expected ") + kind_name(kind) + ", found " + kind_name(next_kind()));
  }
  if (open_.size() >= static_cast<size_t>(kMaxDepth)) {
    fail_here(detail::concat("nesting deeper than ", kMaxDepth, " levels"));
  }
  ++pos_;
  open_.push_back(true);
}

void Reader::begin_object() { open(Value::Kind::Object); }
void Reader::begin_array() { open(Value::Kind::Array); }

bool Reader::next_key(std::string& key, size_t& key_offset) {
  skip_whitespace();
  if (open_.back()) {  // no member read yet: '}' may close the object at once
    open_.back() = false;
    if (!at_end() && peek() == '}') {
      ++pos_;
      open_.pop_back();
      return false;
    }
  } else if (!at_end() && peek() == ',') {
    ++pos_;
  } else {
    expect('}', "or ',' in an object");
    open_.pop_back();
    return false;
  }
  skip_whitespace();
  if (at_end()) fail_here("unexpected end of input, expected a key");
  if (peek() != '"') fail_here("expected a string key, found " + describe_byte(peek()));
  key_offset = base_ + pos_;
  key = scan_string();
  expect(':', "after an object key");
  return true;
}

bool Reader::next_element() {
  skip_whitespace();
  if (open_.back()) {  // no element read yet: ']' may close the array at once
    open_.back() = false;
    if (!at_end() && peek() == ']') {
      ++pos_;
      open_.pop_back();
      return false;
    }
    return true;
  }
  if (!at_end() && peek() == ',') {
    ++pos_;
    return true;
  }
  expect(']', "or ',' in an array");
  open_.pop_back();
  return false;
}

std::string Reader::read_string() {
  if (next_kind() != Value::Kind::String) {
    fail_here(std::string("expected a string, found ") + kind_name(next_kind()));
  }
  return scan_string();
}

int64_t Reader::read_integer() {
  if (next_kind() != Value::Kind::Integer) {
    fail_here(std::string("expected an integer, found ") + kind_name(next_kind()));
  }
  const size_t start = pos_;
  const bool negative = peek() == '-';
  if (negative) ++pos_;
  if (at_end() || peek() < '0' || peek() > '9') fail(base_ + start, "expected a digit after '-'");
  // Accumulate the magnitude as unsigned so that INT64_MIN is representable.
  const uint64_t limit = negative ? uint64_t{1} << 63 : std::numeric_limits<int64_t>::max();
  uint64_t magnitude = 0;
  const size_t first_digit = pos_;
  while (!at_end() && peek() >= '0' && peek() <= '9') {
    const auto digit = static_cast<uint64_t>(peek() - '0');
    if (magnitude > (limit - digit) / 10) fail(base_ + start, "integer out of the 64-bit range");
    magnitude = magnitude * 10 + digit;
    ++pos_;
  }
  if (text_[first_digit] == '0' && pos_ - first_digit > 1) {
    fail(base_ + start, "integers may not have leading zeros");
  }
  if (!at_end() && (peek() == '.' || peek() == 'e' || peek() == 'E')) {
    fail(base_ + start, "only integers are allowed here, not fractions or exponents");
  }
  return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

void Reader::skip_value() {
  switch (next_kind()) {
    case Value::Kind::Integer:
      read_integer();
      return;
    case Value::Kind::String:
      scan_string();
      return;
    case Value::Kind::Array:
      begin_array();
      while (next_element()) skip_value();
      return;
    case Value::Kind::Object: {
      // Keys must be unique here too: validate() reports every error parse() would.
      std::unordered_set<std::string> keys;
      std::string key;
      size_t key_offset;
      begin_object();
      while (next_key(key, key_offset)) {
        if (!keys.insert(key).second) fail(key_offset, "duplicate key \"" + key + "\"");
        skip_value();
      }
      return;
    }
  }
}

void Reader::end() {
  skip_whitespace();
  if (!at_end()) fail_here("unexpected " + describe_byte(peek()) + " after the value");
}

uint32_t Reader::scan_hex4() {
  if (pos_ + 4 > text_.size()) fail_here("unexpected end of input in a \\u escape");
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
      fail_here("expected a hex digit in a \\u escape, found " + describe_byte(c));
    }
    code = code * 16 + digit;
    ++pos_;
  }
  return code;
}

uint32_t Reader::scan_unicode_escape(size_t escape_pos) {
  const uint32_t code = scan_hex4();
  if (code >= 0xDC00 && code <= 0xDFFF) {
    fail(base_ + escape_pos, "lone low surrogate in a \\u escape");
  }
  if (code < 0xD800 || code > 0xDBFF) return code;
  if (text_.substr(pos_, 2) != "\\u") {
    fail(base_ + escape_pos, "high surrogate not followed by a low surrogate \\u escape");
  }
  pos_ += 2;
  const uint32_t low = scan_hex4();
  if (low < 0xDC00 || low > 0xDFFF) {
    fail(base_ + escape_pos, "high surrogate not followed by a low surrogate \\u escape");
  }
  return 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
}

std::string Reader::scan_string() {
  ++pos_;  // '"'
  std::string out;
  while (true) {
    if (at_end()) fail_here("unexpected end of input in a string");
    const char c = peek();
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"') {
      ++pos_;
      return out;
    }
    if (byte < 0x20) fail_here("unescaped control character " + describe_byte(c) + " in a string");
    if (c == '\\') {
      const size_t escape_pos = pos_;
      ++pos_;
      if (at_end()) fail_here("unexpected end of input in an escape");
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
          append_utf8(out, scan_unicode_escape(escape_pos));
          break;
        default:
          fail(base_ + escape_pos, "invalid escape '\\" + std::string(1, e) + "'");
      }
      continue;
    }
    const size_t length = utf8_sequence_length(text_, pos_);
    if (length == 0) fail_here("invalid UTF-8 " + describe_byte(c) + " in a string");
    out.append(text_.substr(pos_, length));
    pos_ += length;
  }
}

// ---- Parsing into values ------------------------------------------------------------------------

namespace {

// The value `in` is at, as a tree (keys are unique: validate() checked the text).
Value build(Reader& in) {
  const size_t offset = in.offset();
  Value value;
  switch (in.next_kind()) {
    case Value::Kind::Integer:
      value = Value::of_integer(in.read_integer());
      break;
    case Value::Kind::String:
      value = Value::of_string(in.read_string());
      break;
    case Value::Kind::Array:
      value = Value::of_array({});
      in.begin_array();
      while (in.next_element()) value.array.push_back(build(in));
      break;
    case Value::Kind::Object: {
      value = Value::of_object({});
      Member member;
      in.begin_object();
      while (in.next_key(member.key, member.key_offset)) {
        member.value = build(in);
        value.object.push_back(std::move(member));
      }
      break;
    }
  }
  value.offset = offset;
  return value;
}

}  // namespace

void validate(std::string_view text, std::string_view where, size_t base) {
  Reader in(text, where, base);
  in.skip_value();
  in.end();
}

Value parse(std::string_view text, std::string_view where, size_t base) {
  validate(text, where, base);
  Reader in(text, where, base);
  Value value = build(in);
  in.end();
  return value;
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
