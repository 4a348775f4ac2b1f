#pragma once
// The math of the elementwise kernels: exp, log, tanh, sigmoid, erf, gelu, ... of one element.
//
// Note [Elementwise math]
// float32: bayesgrad's own functions, within a few ulp of the correctly rounded result over the
// whole float range (subnormals, tails and infinities included), checked against float64 by
// tests/core/test_unary_accuracy.cpp. Each is written as straight-line code: no branches (both
// sides of a choice are computed and one is selected), no calls. A loop over a contiguous run that
// calls one therefore vectorizes, and the loop over strided data calls the same function: both
// give the same bits, as every lane computes exactly what the scalar code computes. For that the
// files that use these functions are compiled without FMA contraction (core/CMakeLists.txt); the
// multiply-adds that should be fused are written as mul_add, fused where the instruction set has
// FMA (so the bits may differ between the instruction-set levels, never within one). Every
// function is forced inline: a call left in a loop (GCC judges some of them cold) stops its
// vectorization.
//   - exp, expm1: k = round(x / ln 2), r = x - k ln 2 (|r| <= ln(2)/2, in two parts so that it is
//     nearly exact), expm1(r) by its Taylor series, scaled by 2^k through the exponent bits.
//   - log, log1p: x = 2^e (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)), and log(1 + f) as fdlibm
//     computes it (s = f / (2 + f), log(1 + f) = f - (f^2/2 - s (f^2/2 + R(s^2)))).
//   - sigmoid, silu, softplus, tanh, elu: from these, in forms without cancellation or overflow.
//   - erf, gelu: through erfc(z) = exp(-z^2) g(Y) / (1 + 2z), Y = (z - 3) / (z + 3) (Shepherd and
//     Laframboise's expansion), gelu's exp(-x^2/2) of x^2 computed exactly, so that its negative
//     tail keeps its relative accuracy.
//   - sin, cos: the argument reduced in float64, the polynomials in float32.
// float64: the C library's functions (std::exp, ...), accurate to an ulp, in the same formulas;
// GCC does not vectorize them.

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

namespace bg::cpu::BG_CPU_ISA::math {

// ---- Helpers ------------------------------------------------------------------------------------

inline constexpr float kInf = std::numeric_limits<float>::infinity();
inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

/// a * b + c, with one rounding where the instruction set has FMA, else two.
[[gnu::always_inline]] inline float mul_add(float a, float b, float c) {
#if defined(__FMA__)
  return __builtin_fmaf(a, b, c);
#else
  return a * b + c;
#endif
}
[[gnu::always_inline]] inline double mul_add(double a, double b, double c) {
#if defined(__FMA__)
  return __builtin_fma(a, b, c);
#else
  return a * b + c;
#endif
}

[[gnu::always_inline]] inline int32_t bits(float x) { return std::bit_cast<int32_t>(x); }
[[gnu::always_inline]] inline float float_from_bits(int32_t b) { return std::bit_cast<float>(b); }
[[gnu::always_inline]] inline int64_t bits(double x) { return std::bit_cast<int64_t>(x); }

/// x with the sign of `sign`.
[[gnu::always_inline]] inline float with_sign_of(float x, float sign) {
  return float_from_bits((bits(x) & 0x7fffffff) | (bits(sign) & int32_t{-0x7fffffff - 1}));
}

/// y rounded to the nearest integer (|y| < 2^22 for float, 2^51 for double), as a floating-point
/// value and as an integer: adding 1.5 * 2^23 (2^52) leaves the integer in the low bits of the
/// significand.
struct RoundedF {
  float value;
  int32_t integer;
};
[[gnu::always_inline]] inline RoundedF round_to_integer(float y) {
  constexpr float kShift = 0x1.8p23f;
  const float shifted = y + kShift;
  return {shifted - kShift, bits(shifted) - bits(kShift)};
}
struct RoundedD {
  double value;
  int64_t integer;
};
[[gnu::always_inline]] inline RoundedD round_to_integer(double y) {
  constexpr double kShift = 0x1.8p52;
  const double shifted = y + kShift;
  return {shifted - kShift, bits(shifted) - bits(kShift)};
}

/// y * 2^k for y in [1/2, 2] and k in [-252, 254], rounded once: two exact factors 2^(k/2).
[[gnu::always_inline]] inline float times_power_of_2(float y, int32_t k) {
  const int32_t half = k >> 1;
  return y * float_from_bits((half + 127) << 23) * float_from_bits((k - half + 127) << 23);
}

/// c[0] x^(N-1) + c[1] x^(N-2) + ... + c[N-1] by Horner's rule, unrolled at compile time.
template <typename T, size_t N, size_t... I>
[[gnu::always_inline]] inline T horner(T x, const T (&c)[N], std::index_sequence<I...>) {
  T y = c[0];
  ((y = mul_add(y, x, c[I + 1])), ...);
  return y;
}
template <typename T, size_t N>
[[gnu::always_inline]] inline T polynomial(T x, const T (&c)[N]) {
  return horner(x, c, std::make_index_sequence<N - 1>{});
}

// ---- exp and expm1 ------------------------------------------------------------------------------

/// exp(x) = 2^k (1 + p) for x in [-120, 89]: p = expm1(r), r = x - k ln 2, |r| <= ln(2)/2.
struct ExpParts {
  float p;
  int32_t k;
};
[[gnu::always_inline]] inline ExpParts exp_parts(float x) {
  // ln 2 = kLn2Hi + kLn2Lo, kLn2Hi with 16 significant bits: k kLn2Hi is exact.
  constexpr float kLog2e = 0x1.715476p+0f, kLn2Hi = 0x1.62e4p-1f, kLn2Lo = 0x1.7f7d1cp-20f;
  const RoundedF k = round_to_integer(x * kLog2e);
  const float r = mul_add(k.value, -kLn2Lo, mul_add(k.value, -kLn2Hi, x));
  // expm1(r) = r + r^2 (1/2! + r/3! + ... + r^6/8!); the next term is below 2^-30 |r|.
  constexpr float kTaylor[] = {1.0f / 40320, 1.0f / 5040, 1.0f / 720, 1.0f / 120,
                               1.0f / 24,    1.0f / 6,    0.5f};
  return {mul_add(r * r, polynomial(r, kTaylor), r), k.integer};
}

[[gnu::always_inline]] inline float exp(float x) {
  // Below -104 exp rounds to 0, above 89 it overflows. The clamp also turns NaN into a number
  // (-104), so that the integer arithmetic stays defined; the result is replaced at the end.
  const float clamped = x > -104.0f ? (x < 89.0f ? x : 89.0f) : -104.0f;
  const ExpParts e = exp_parts(clamped);
  const float y = times_power_of_2(1.0f + e.p, e.k);
  return x == x ? y : x;
}
[[gnu::always_inline]] inline double exp(double x) { return std::exp(x); }

[[gnu::always_inline]] inline float expm1(float x) {
  // Below -30 expm1 rounds to -1; above 89 it overflows (NaN: as in exp).
  const ExpParts e = exp_parts(x > -30.0f ? (x < 89.0f ? x : 89.0f) : -30.0f);
  // 2^k (1 + p) - 1 = 2 (t p + (t - 1/2)) with t = 2^(k-1): exactly p when k = 0, and t stays
  // finite for k = 128.
  const float t = float_from_bits((e.k + 126) << 23);
  const float y = 2.0f * mul_add(t, e.p, t - 0.5f);
  // Below 2^-25 expm1(x) rounds to x (zeros and subnormals included), and NaN stays NaN.
  return std::abs(x) >= 0x1p-25f ? y : x;
}
[[gnu::always_inline]] inline double expm1(double x) { return std::expm1(x); }

// ---- log and log1p ------------------------------------------------------------------------------

/// x = 2^e m with m in [sqrt(1/2), sqrt(2)), for normal positive x: measured from the bits of
/// sqrt(1/2), the exponent field counts e and the rest of the bits place m.
struct LogParts {
  float m;
  int32_t e;
};
[[gnu::always_inline]] inline LogParts log_parts(float x) {
  constexpr uint32_t kSqrtHalf = 0x3f3504f3;  // the bits of sqrt(1/2), rounded to float
  // Unsigned, so that the bits of a negative x (whose result is replaced) cannot overflow.
  const uint32_t offset = static_cast<uint32_t>(bits(x)) - kSqrtHalf;
  return {float_from_bits(static_cast<int32_t>((offset & 0x007fffff) + kSqrtHalf)),
          static_cast<int32_t>(offset) >> 23};
}

/// e ln 2 + log(1 + f) + c, for f in [sqrt(1/2) - 1, sqrt(2) - 1] and a small correction c.
[[gnu::always_inline]] inline float log_from_parts(float f, float e, float c) {
  constexpr float kLn2Hi = 0x1.62e4p-1f, kLn2Lo = 0x1.7f7d1cp-20f;
  // log(1 + f) = 2 atanh(s) = 2s + s R(s^2), R(z) = 2z/3 + 2z^2/5 + ... with s = f / (2 + f), and
  // 2s = f - s f turns it into f - (f^2/2 - s (f^2/2 + R)): f exact, the rest a correction. |s| <
  // 0.172: the terms past 2z^4/9 are below 2^-30 of the result.
  constexpr float kAtanh[] = {2.0f / 9, 2.0f / 7, 2.0f / 5, 2.0f / 3};
  const float s = f / (2.0f + f);
  const float z = s * s;
  const float R = polynomial(z, kAtanh) * z;
  const float half_f2 = 0.5f * f * f;
  return mul_add(e, kLn2Hi, (mul_add(s, half_f2 + R, mul_add(e, kLn2Lo, c)) - half_f2) + f);
}

[[gnu::always_inline]] inline float log(float x) {
  // Subnormal x is scaled into the normal range first.
  const bool subnormal = x < 0x1p-126f;
  const LogParts parts = log_parts(subnormal ? x * 0x1p23f : x);
  const float e = static_cast<float>(parts.e - (subnormal ? 23 : 0));
  const float y = log_from_parts(parts.m - 1.0f, e, 0.0f);
  return x > 0.0f ? (x < kInf ? y : x) : (x == 0.0f ? -kInf : kNaN);
}
[[gnu::always_inline]] inline double log(double x) { return std::log(x); }

[[gnu::always_inline]] inline float log1p(float x) {
  // u = 1 + x, rounded. Near 1 (e = 0) f = x exactly; elsewhere f comes from u, and the rounding
  // error of u, c = 1 + x - u (exact: Fast2Sum, the larger magnitude first), adds c / u.
  const float u = 1.0f + x;
  const LogParts parts = log_parts(u);
  const bool near_one = parts.e == 0;
  const float c = (x < 1.0f ? x - (u - 1.0f) : 1.0f - (u - x)) / u;
  const float y = log_from_parts(near_one ? x : parts.m - 1.0f, static_cast<float>(parts.e),
                                 near_one ? 0.0f : c);
  return x > -1.0f ? (x < kInf && x != 0.0f ? y : x) : (x == -1.0f ? -kInf : kNaN);
}
[[gnu::always_inline]] inline double log1p(double x) { return std::log1p(x); }

// ---- Functions of exp ---------------------------------------------------------------------------

/// exp(-|x|), which sigmoid and softplus start from (sigmoid_from and softplus_from finish them).
/// A kernel that needs either for a block of elements may compute this for the whole block in a
/// loop of its own first (Note [exp(-|rho|) in a loop of its own], gaussian.cpp): the same bits.
template <typename T>
[[gnu::always_inline]] inline T exp_minus_abs(T x) {
  return exp(-std::abs(x));
}

/// sigmoid(x) from e = exp_minus_abs(x) <= 1: 1 / (1 + e) for x >= 0, e / (1 + e) below (which
/// keeps the subnormal tail, down to x = -104). One division: the numerator is chosen first.
template <typename T>
[[gnu::always_inline]] inline T sigmoid_from(T x, T e) {
  return (x >= T(0) ? T(1) : e) / (T(1) + e);
}

/// 1 / (1 + exp(-x)).
template <typename T>
[[gnu::always_inline]] inline T sigmoid(T x) {
  return sigmoid_from(x, exp_minus_abs(x));
}

/// x sigmoid(x) = x / (1 + e) for x >= 0, x e / (1 + e) below, e = exp(-|x|). For x < -87, e is
/// subnormal and x e is not: e is computed times 2^64, multiplied by x in the normal range, and
/// scaled back with one rounding.
[[gnu::always_inline]] inline float silu(float x) {
  const float a = -std::abs(x);
  const ExpParts parts = exp_parts(a > -120.0f ? a : -120.0f);       // x e^x rounds to 0 below -120
  const float big = times_power_of_2(1.0f + parts.p, parts.k + 64);  // e^a 2^64
  const bool positive = x >= 0.0f;
  const float numerator = positive ? x : (x > -120.0f ? x : -120.0f) * big;
  const float y = numerator / (1.0f + big * 0x1p-64f) * (positive ? 1.0f : 0x1p-64f);
  return x == x ? y : x;
}
[[gnu::always_inline]] inline double silu(double x) { return x * sigmoid(x); }

/// log(1 + exp(beta x)) / beta, PyTorch's softplus, from e = exp_minus_abs(beta x): x itself where
/// beta x > threshold, else (max(beta x, 0) + log1p(e)) times 1 / beta, which neither overflows nor
/// loses the tail. (1 / beta is the same for every element, and exact for beta a power of 2.)
template <typename T>
[[gnu::always_inline]] inline T softplus_from(T x, T e, T beta, T threshold) {
  const T bx = beta * x;
  const T y = ((bx > T(0) ? bx : T(0)) + log1p(e)) * (T(1) / beta);
  return bx > threshold ? x : y;
}

/// log(1 + exp(beta x)) / beta, as softplus_from.
template <typename T>
[[gnu::always_inline]] inline T softplus(T x, T beta, T threshold) {
  return softplus_from(x, exp_minus_abs(beta * x), beta, threshold);
}

/// tanh(x) = sign(x) t(a), a = |x|. For small a, u = expm1(-2a) and t = -u / (u + 2), accurate near
/// 0; else u = expm1(2a) and t = 1 - 2 / (u + 2), where the rounding of u + 2 stays in the small
/// term. One division: its numerator is chosen first. tanh rounds to 1 beyond 9.01, so a is taken
/// at most 10, where u is finite.
[[gnu::always_inline]] inline float tanh(float x) {
  const float a = std::min(std::abs(x), 10.0f);  // NaN stays NaN
  const bool small = a < 0.625f;
  const float u = expm1(small ? -2.0f * a : 2.0f * a);
  const float q = (small ? -u : 2.0f) / (u + 2.0f);
  return with_sign_of(small ? q : 1.0f - q, x);
}
[[gnu::always_inline]] inline double tanh(double x) { return std::tanh(x); }

/// x for x > 0, else alpha (exp(x) - 1).
template <typename T>
[[gnu::always_inline]] inline T elu(T x, T alpha) {
  return x > T(0) ? x : alpha * expm1(x);
}

// ---- erf and gelu -------------------------------------------------------------------------------

// The polynomials of erf and gelu interpolate their function f at the Chebyshev points of [a, b].
// Computed with mpmath (mp.dps = 50), for degree n:
//   m = n + 1
//   t = [(a + b) / 2 + (b - a) / 2 * mp.cos(mp.pi * (2 * k + 1) / (2 * m)) for k in range(m)]
//   A = mp.matrix([[tk**j for j in range(m)] for tk in t])
//   c = mp.lu_solve(A, mp.matrix([f(tk) for tk in t]))  # c[j]: the coefficient of t^j
// and checked at 1000 points of [a, b] (the relative errors quoted). The arrays below list them
// from the highest degree down, as polynomial() takes them.

/// erfc(z) / exp(-z^2) for z in [0, 10.6]: g(Y) / (1 + 2z) with Y = (z - 3) / (z + 3), the
/// expansion of Shepherd and Laframboise (1981), g of degree 10 through f(Y) = (1 + 2z) exp(z^2)
/// erfc(z), z = 3 (1 + Y) / (1 - Y), on Y in [-1, 7.5 / 13.5] (z in [0, 10.5]; relative error
/// 3.3e-9). Beyond z = 10.5 erfc(z) rounds to 0.
[[gnu::always_inline]] inline float erfc_scaled(float z) {
  constexpr float kG[] = {
      -0.00027359599926303439f, -0.00078812075303741059f, 0.0020017712255442631f,
      0.002576856516801767f,    -0.023794664534199443f,   0.068293029055253058f,
      -0.11927191933722656f,    0.12964671485294684f,     -0.047562318168041814f,
      -0.13562114905995366f,    1.2530080581370375f};
  return polynomial((z - 3.0f) / (z + 3.0f), kG) / mul_add(2.0f, z, 1.0f);
}

/// x^2 = hi + lo exactly: lo from an FMA, or without one from Dekker's product of the halves of x
/// (Veltkamp's split: 12 significant bits each, so every partial product is exact).
struct Square {
  float hi, lo;
};
[[gnu::always_inline]] inline Square exact_square(float x) {
  const float hi = x * x;
#if defined(__FMA__)
  return {hi, __builtin_fmaf(x, x, -hi)};
#else
  const float c = x * 4097.0f;  // 2^12 + 1
  const float high = c - (c - x), low = x - high;
  return {hi, ((high * high - hi) + 2.0f * high * low) + low * low};
#endif
}

/// erf(x) for |x| < 1: x + x q(x^2), q of degree 6 through f(t) = erf(sqrt t) / sqrt t - 1 on t in
/// [0, 1] (relative error of erf 1.3e-9; x itself is added exactly, last).
[[gnu::always_inline]] inline float erf_near_zero(float x) {
  constexpr float kQ[] = {7.8758750626854883e-5f, -0.00080168642871658695f, 0.005189087423433974f,
                          -0.026854212010626412f, 0.11283594715160218f,     -0.37612626666720331f,
                          0.1283791658483509f};
  return mul_add(x, polynomial(x * x, kQ), x);
}

/// erf(x): erf_near_zero for |x| < 1, beyond 1 - exp(-x^2) erfc_scaled(|x|) with the sign of x.
/// erf rounds to +-1 beyond |x| = 3.92, so |x| is taken at most 4.
[[gnu::always_inline]] inline float erf(float x) {
  const float a = std::min(std::abs(x), 4.0f);  // NaN stays NaN
  const float tail = 1.0f - exp(-a * a) * erfc_scaled(a);
  return a < 1.0f ? erf_near_zero(x) : with_sign_of(tail, x);
}
[[gnu::always_inline]] inline double erf(double x) { return std::erf(x); }

/// x Phi(x), Phi the standard normal distribution function. For |x| < 1, Phi(x) = 1/2 +
/// erf_near_zero(x / sqrt 2) / 2; beyond, with z = |x| / sqrt 2, Phi(x) = 1 - erfc(z) / 2 for
/// x > 0 and erfc(z) / 2 for x < 0, where the tail keeps its relative accuracy: exp(-x^2 / 2) takes
/// x^2 exactly (exact_square), and x exp(-x^2 / 2) is formed before the product becomes
/// subnormal. Beyond |x| = 15, Phi rounds to 1 and x Phi(x) to -0; |x| is taken at most 15.
[[gnu::always_inline]] inline float gelu(float x) {
  constexpr float kSqrtHalf = 0x1.6a09e6p-1f;
  const float a = std::min(std::abs(x), 15.0f);  // NaN stays NaN
  const Square square = exact_square(a);
  const float e_hi = exp(-0.5f * square.hi);
  const float e = mul_add(e_hi, -0.5f * square.lo, e_hi);  // exp(-x^2 / 2)
  const float half_scaled = 0.5f * erfc_scaled(a * kSqrtHalf);
  const float tails = x < 0.0f ? x * e * half_scaled : x * (1.0f - e * half_scaled);
  const float near_zero = x * mul_add(0.5f, erf_near_zero(x * kSqrtHalf), 0.5f);
  return a < 1.0f ? near_zero : (x > -15.0f ? tails : (x == x ? -0.0f : x));
}
[[gnu::always_inline]] inline double gelu(double x) {
  return 0.5 * x * std::erfc(-x * 0x1.6a09e667f3bcdp-1);
}

// ---- sin and cos --------------------------------------------------------------------------------

/// sin(x) (cosine = false) or cos(x) for |x| < kTrigLimit = 2^19: x = n pi/2 + r with |r| <= pi/4,
/// reduced in float64 (pi/2 in three parts, the first two of 33 bits, so that n times them is
/// exact for n < 2^20), then polynomials in float32: (sin r - r) / r^3 of degree 3 and cos r of
/// degree 4 in r^2, through the function at the Chebyshev points of r^2 in [0, pi^2/16] (relative
/// errors 1.9e-11 and 6.7e-11; computed as above). Larger arguments, infinities and NaN go to the
/// C library (trig_needs_library).
inline constexpr float kTrigLimit = 0x1p19f;
[[gnu::always_inline]] inline bool trig_needs_library(float x) {
  return !(std::abs(x) < kTrigLimit);
}
[[gnu::always_inline]] inline float sin_cos_reduced(float x, bool cosine) {
  constexpr double k2OverPi = 0x1.45f306dc9c883p-1, kPiOver2A = 0x1.921fb544p+0,
                   kPiOver2B = 0x1.0b4611a6p-34, kPiOver2C = 0x1.3198a2e037073p-69;
  constexpr float kSin[] = {2.72499258e-6f, -0.0001984008674f, 0.008333331875f, -0.1666666666f};
  constexpr float kCos[] = {2.437983125e-5f, -0.0013886618f, 0.04166661669f, -0.4999999961f, 1.0f};
  const double xd = x;
  const RoundedD n = round_to_integer(xd * k2OverPi);
  const float r = static_cast<float>(
      mul_add(n.value, -kPiOver2C, mul_add(n.value, -kPiOver2B, mul_add(n.value, -kPiOver2A, xd))));
  const float r2 = r * r;
  const float sin_r = mul_add(r * r2, polynomial(r2, kSin), r);
  const float cos_r = polynomial(r2, kCos);
  // sin(n pi/2 + r) = sin r, cos r, -sin r, -cos r for n = 0, 1, 2, 3 (mod 4); cos x is sin of x
  // one quadrant further.
  const int32_t quadrant = static_cast<int32_t>(n.integer + (cosine ? 1 : 0)) & 3;
  const float y = (quadrant & 1) ? cos_r : sin_r;
  const float signed_y = (quadrant & 2) ? -y : y;
  return cosine || x != 0.0f ? signed_y : x;  // sin(-0) = -0
}

[[gnu::always_inline]] inline float sin(float x) {
  return trig_needs_library(x) ? static_cast<float>(std::sin(static_cast<double>(x)))
                               : sin_cos_reduced(x, false);
}
[[gnu::always_inline]] inline float cos(float x) {
  return trig_needs_library(x) ? static_cast<float>(std::cos(static_cast<double>(x)))
                               : sin_cos_reduced(x, true);
}
[[gnu::always_inline]] inline double sin(double x) { return std::sin(x); }
[[gnu::always_inline]] inline double cos(double x) { return std::cos(x); }

}  // namespace bg::cpu::BG_CPU_ISA::math
