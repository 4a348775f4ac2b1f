#pragma once
// A strict JSON reader and writer for exactly what checkpoint metadata needs (safetensors headers,
// optimizer checkpoints, and the descriptions bayes::save stores in them): objects (members kept
// in document order), arrays, strings and integers. Private to the checkpoint formats: not
// installed, not API (bayes reaches it through a private include path). Everything else is an
// error: floats, true, false, null, duplicate keys, invalid UTF-8, lone surrogates, trailing
// content, nesting deeper than kMaxDepth. Parse errors read "<where>: invalid JSON at byte
// <offset>: <what>".

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

  /// "an integer", "a string", "an array", "an object": how messages name this kind.
  const char* kind_name() const;
  /// The member named `key` of an object, or null.
  const Value* find(std::string_view key) const;
};

struct Member {
  std::string key;
  Value value;
  size_t key_offset = 0;  ///< where the key's opening quote is
};

/// Parses `text`, which must hold exactly one value with nothing but whitespace around it.
/// Offsets (in values and in messages) are `base` plus the position in `text`.
Value parse(std::string_view text, std::string_view where, size_t base = 0);

/// Compact JSON for `value`; throws bg::Error if a string is not valid UTF-8.
std::string write(const Value& value);

/// The position of the first byte of `text` that is not part of a valid UTF-8 sequence, if any.
std::optional<size_t> invalid_utf8(std::string_view text);

}  // namespace bg::detail::json
