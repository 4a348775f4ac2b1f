#pragma once
// A strict JSON reader and writer for exactly what checkpoint metadata needs (safetensors headers,
// optimizer checkpoints, and the descriptions bayes::save stores in them): objects (members kept
// in document order), arrays, strings and integers. Private to the checkpoint formats: not
// installed, not API (bayes reaches it through a private include path, and a shared libbayesgrad_nn
// exports it for that: Note [Exported API] in bg/core/api.h). Everything else is an
// error: floats, true, false, null, duplicate keys, invalid UTF-8, lone surrogates, trailing
// content, nesting deeper than kMaxDepth. Parse errors read "<where>: invalid JSON at byte
// <offset>: <what>".
//
// Two ways to read: parse() builds a tree of Values, which costs some hundred bytes per value, so
// that "[0,0,0,...]" takes some 60 times its own size; a Reader hands out one token at a time, so
// that a format that knows what it expects (a safetensors header) refuses anything else the moment
// it is scanned, holding nothing but what it keeps.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::detail::json {

/// Deeper nesting is rejected (a safetensors header needs 3 levels), so that hostile input cannot
/// exhaust the stack.
inline constexpr int kMaxDepth = 32;

struct Member;

/// One parsed (or to be written) JSON value.
struct Value {
  enum class Kind { Integer, String, Array, Object };

  Kind kind = Kind::Object;
  int64_t integer = 0;
  std::string string;
  std::vector<Value> array;
  std::vector<Member> object;  ///< in document order; keys are unique
  size_t offset = 0;           ///< where the value starts (base + position in the parsed text)

  static Value of_integer(int64_t value);
  static Value of_string(std::string value);
  static Value of_array(std::vector<Value> elements);
  static Value of_object(std::vector<Member> members);

  /// kind_name(kind).
  const char* kind_name() const;
  /// The member named `key` of an object, or null.
  const Value* find(std::string_view key) const;
};

struct Member {
  std::string key;
  Value value;
  size_t key_offset = 0;  ///< where the key's opening quote is
};

/// "an integer", "a string", "an array", "an object": how messages name a kind.
const char* kind_name(Value::Kind kind);

/// Reads JSON text one value or bracket at a time. Every call checks the grammar of what it
/// consumes and throws, naming the byte offset, on anything else; offsets are `base` plus the
/// position in the text. Keys are not checked for duplicates (validate() does).
///
///   in.begin_object();
///   while (in.next_key(key, key_offset)) { ...read the member's value... }
///   in.end();
class Reader {
 public:
  Reader(std::string_view text, std::string_view where, size_t base = 0);

  /// The kind of the next value, which is not consumed; throws at the end of the text or at a
  /// byte that starts no value.
  Value::Kind next_kind();
  /// The offset of the next value (past whitespace).
  size_t offset();
  /// Consumes the '{' of an object; then next_key() until it returns false.
  void begin_object();
  /// Reads the next key of the innermost open object and its ':', or consumes its '}' and returns
  /// false.
  bool next_key(std::string& key, size_t& key_offset);
  /// Consumes the '[' of an array; then next_element() and a value until it returns false.
  void begin_array();
  /// True when the innermost open array has another element (consuming the ',' before it);
  /// consumes its ']' and returns false at its end.
  bool next_element();
  std::string read_string();
  int64_t read_integer();
  /// Consumes the next value, checking its grammar and that the keys of its objects are unique.
  void skip_value();
  /// Throws unless only whitespace follows.
  void end();
  /// Throws "<where>: invalid JSON at byte <offset>: <what>".
  [[noreturn]] void fail(size_t offset, const std::string& what) const;

 private:
  [[noreturn]] void fail_here(const std::string& what) const;
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }
  void skip_whitespace();
  // Consumes `c` (after optional whitespace) or fails saying what was expected.
  void expect(char c, const char* context);
  // Consumes the '{' or '[' of a value of `kind`, which must come next.
  void open(Value::Kind kind);
  std::string scan_string();  // at its opening quote
  uint32_t scan_hex4();
  // A \u escape (the "\u" consumed), a surrogate pair counting as one code point.
  uint32_t scan_unicode_escape(size_t escape_pos);

  std::string_view text_;
  std::string_view where_;
  size_t base_;
  size_t pos_ = 0;
  std::vector<bool> open_;  // per open object or array: whether nothing was read from it yet
};

/// Checks that `text` holds exactly one value (grammar, unique keys, depth) with nothing but
/// whitespace around it, without building it; throws as parse() does.
void validate(std::string_view text, std::string_view where, size_t base = 0);

/// Parses `text`, which must hold exactly one value with nothing but whitespace around it.
/// Offsets (in values and in messages) are `base` plus the position in `text`.
Value parse(std::string_view text, std::string_view where, size_t base = 0);

/// Compact JSON for `value`; throws bg::Error if a string is not valid UTF-8.
std::string write(const Value& value);

/// The position of the first byte of `text` that is not part of a valid UTF-8 sequence, if any.
std::optional<size_t> invalid_utf8(std::string_view text);

}  // namespace bg::detail::json

BG_API_END
