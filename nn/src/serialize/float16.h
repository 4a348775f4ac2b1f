#pragma once
// The 16-bit float formats safetensors files may hold (private to nn): IEEE 754 half precision
// (F16) and bfloat16 (BF16), converted from and to float32 bit by bit, rounding to nearest even
// as PyTorch's .half() and .bfloat16() do.

#include <cstdint>

namespace bg::detail {

/// The float32 holding an F16 value exactly (subnormals, infinities and NaN included).
float half_to_float(uint16_t half);
/// `value` rounded to the nearest F16 (ties to even); beyond 65504 it becomes infinite, NaN stays
/// NaN.
uint16_t float_to_half(float value);

/// The float32 holding a BF16 value exactly: its upper 16 bits.
float bfloat16_to_float(uint16_t bfloat16);
/// `value` rounded to the nearest BF16 (ties to even); NaN stays NaN.
uint16_t float_to_bfloat16(float value);

}  // namespace bg::detail
