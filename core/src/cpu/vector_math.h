#pragma once
// Corrections to Eigen 3.4's vectorized math, shared by the CPU kernels.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace bg::cpu {

/// Eigen's vectorized exp, underflowing to 0 like std::exp. Eigen 3.4 clamps the argument to
/// -709.784 (double) before evaluating, so anything below, -inf included, gave about 5.6e-309
/// instead of 0: logsumexp of all -inf came out as -709, masked softmax entries were not 0. Below
/// the clamp the true value is a subnormal smaller than that; it is returned as 0. (float is
/// clamped at -88.723; the select is harmless there.)
template <typename A>
auto exp_underflowing(const A& x) {
  using T = typename A::Scalar;
  constexpr T kLowestArgument = std::is_same_v<T, float> ? T(-88.723) : T(-709.784);
  return (x < kLowestArgument).select(T(0), x.exp());
}

/// Calls fn(begin, length) over [0, n) in blocks of kVectorBlock elements. Array expressions that
/// evaluate into temporaries run block by block, so the temporaries stay small (in cache, and
/// below the size where malloc maps fresh pages for every block).
inline constexpr int64_t kVectorBlock = 1024;
template <typename Fn>
void for_blocks(int64_t n, const Fn& fn) {
  for (int64_t i = 0; i < n; i += kVectorBlock) fn(i, std::min(kVectorBlock, n - i));
}

/// log(1 + u) for an evaluated array u, vectorized. Eigen 3.4's log1p evaluates float arrays one
/// element at a time through libm; this uses the vectorized log with Goldberg's correction: for
/// w = 1 + u (rounded), log(w) * u / (w - 1) is accurate to a few ulps, and w == 1 means u is below
/// the rounding of 1, where log1p(u) = u.
template <typename T>
Eigen::Array<T, Eigen::Dynamic, 1> log1p_vectorized(const Eigen::Array<T, Eigen::Dynamic, 1>& u) {
  const Eigen::Array<T, Eigen::Dynamic, 1> w = u + T(1);
  return (w == T(1)).select(u, w.log() * u / (w - T(1)));
}

/// softplus(x) = log(1 + exp(bx)) / b = (max(bx, 0) + log1p(exp(-|bx|))) / b: the exp never
/// overflows and small results keep their precision. Above the threshold it is x itself, as in
/// PyTorch. A scalar form and an Eigen array form (for contiguous runs).
template <typename T>
struct Softplus {
  T beta, threshold;
  T operator()(T x) const {
    const T bx = beta * x;
    if (bx > threshold) return x;
    return ((bx > T(0) ? bx : T(0)) + std::log1p(std::exp(-std::abs(bx)))) / beta;
  }
  template <typename A>
  Eigen::Array<T, Eigen::Dynamic, 1> array(const A& x) const {
    // Each transcendental evaluated once, into arrays (an expression would repeat them per use).
    const Eigen::Array<T, Eigen::Dynamic, 1> bx = x * beta;
    const Eigen::Array<T, Eigen::Dynamic, 1> tail = log1p_vectorized<T>((-bx.abs()).exp());
    return (bx > threshold).select(x, (bx.max(T(0)) + tail) / beta);
  }
};

}  // namespace bg::cpu
