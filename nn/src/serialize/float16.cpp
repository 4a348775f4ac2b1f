#include "serialize/float16.h"

#include <bit>
#include <cmath>

namespace bg::detail {

float half_to_float(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000) << 16;
  const uint32_t exponent = (half >> 10) & 0x1F, mantissa = half & 0x3FF;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in float32
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  if (exponent == 31) return std::bit_cast<float>(sign | 0x7F800000 | mantissa << 13);  // inf, NaN
  // The exponent's bias goes from 15 to 127.
  return std::bit_cast<float>(sign | (exponent + 112) << 23 | mantissa << 13);
}

uint16_t float_to_half(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t magnitude = bits & 0x7FFFFFFF;
  if (magnitude > 0x7F800000) {  // NaN: quiet, with the top of the payload
    return static_cast<uint16_t>(sign | 0x7E00 | ((magnitude >> 13) & 0x3FF));
  }
  if (magnitude >= 0x477FF000) return sign | 0x7C00;  // 65520 and up round to infinity
  if (magnitude < 0x38800000) {
    // Below 2^-14, the smallest normal F16: a subnormal, the multiple of 2^-24 nearest (ties to
    // even, the default rounding), which 2^24 |value| < 1024 gives exactly.
    return static_cast<uint16_t>(sign |
                                 static_cast<uint16_t>(std::nearbyint(std::fabs(value) * 0x1p24f)));
  }
  // Normal: rebias the exponent (127 to 15) and round the 23-bit mantissa to 10 bits. A carry out
  // of the mantissa moves to the next exponent, as it should.
  uint32_t half = (magnitude - 0x38000000) >> 13;
  const uint32_t rest = magnitude & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) ++half;
  return static_cast<uint16_t>(sign | half);
}

float bfloat16_to_float(uint16_t bfloat16) {
  return std::bit_cast<float>(static_cast<uint32_t>(bfloat16) << 16);
}

uint16_t float_to_bfloat16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7FFFFFFF) > 0x7F800000) return static_cast<uint16_t>((bits >> 16) | 0x0040);
  // Round the lower 16 bits away, ties to even; a carry may reach infinity, as it should.
  return static_cast<uint16_t>((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
}

}  // namespace bg::detail
