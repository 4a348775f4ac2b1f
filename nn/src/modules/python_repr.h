#pragma once
// How pretty_print writes option values so that a module prints like PyTorch's repr (except that
// booleans print as true/false).

#include <charconv>
#include <cstdlib>
#include <string>
#include <system_error>

#include "bg/core/shape.h"

namespace bg::nn::detail {

/// A double as Python's repr writes it: the shortest digits that round-trip, in fixed notation
/// ("0.1", "1.0", "0.0001") when the decimal exponent is in [-4, 16), else in scientific notation
/// with a signed exponent of at least two digits ("1e-05", "1e+16").
inline std::string python_float(double value) {
  char buffer[64];
  const auto [end, error] =
      std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::scientific);
  std::string scientific(buffer, end);  // "-1.2345e-05", shortest round-trip digits
  const size_t e = scientific.find('e');
  if (e == std::string::npos) return scientific;  // inf, nan
  const bool negative = scientific[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i) {
    if (scientific[i] != '.') digits += scientific[i];
  }
  const int exponent = std::atoi(scientific.c_str() + e + 1);
  std::string out = negative ? "-" : "";
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (digits.size() > static_cast<size_t>(exponent) + 1) {
      out.append(digits, 0, static_cast<size_t>(exponent) + 1).append(".");
      out.append(digits, static_cast<size_t>(exponent) + 1);
    } else {
      out += digits + std::string(static_cast<size_t>(exponent) + 1 - digits.size(), '0') + ".0";
    }
    return out;
  }
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "." + digits.substr(1).
  out.append(digits, 0, 1);
  if (digits.size() > 1) out.append(".").append(digits, 1);
  const std::string magnitude = std::to_string(std::abs(exponent));
  return out + (exponent < 0 ? "e-" : "e+") + (magnitude.size() < 2 ? "0" : "") + magnitude;
}

inline const char* python_bool(bool value) { return value ? "true" : "false"; }

/// Sizes as a Python tuple: "(4,)", "(2, 5)".
inline std::string python_tuple(const Shape& sizes) {
  std::string out = "(";
  for (size_t i = 0; i < sizes.size(); ++i) out += (i ? ", " : "") + std::to_string(sizes[i]);
  return out + (sizes.size() == 1 ? ",)" : ")");
}

}  // namespace bg::nn::detail
