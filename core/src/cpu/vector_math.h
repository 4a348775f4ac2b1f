#pragma once
// Corrections to Eigen 3.4's vectorized math, shared by the CPU kernels.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace bg::cpu::BG_CPU_ISA {

/// A float column of Eigen's, the form the array helpers below evaluate into.
template <typename T>
using Column = Eigen::Array<T, Eigen::Dynamic, 1>;

// Eigen 3.4's select() has no vectorized path: it evaluates its branches one element at a time,
// transcendental functions included (through libm). The helpers below therefore evaluate each
// branch into a Column with Eigen's vectorized functions and choose between them in a plain loop,
// which the compiler vectorizes into blends.

/// Eigen's vectorized exp, underflowing to 0 like std::exp. Eigen 3.4 clamps the argument to
/// -709.784 (double) before evaluating, so anything below, -inf included, gave about 5.6e-309
/// instead of 0: logsumexp of all -inf came out as -709, masked softmax entries were not 0. Below
/// the clamp the true value is a subnormal smaller than that; it is returned as 0. (float is
/// clamped at -88.723; the choice is harmless there.)
template <typename A>
auto exp_underflowing(const A& x) {
  using T = typename A::Scalar;
  constexpr T kLowestArgument = std::is_same_v<T, float> ? T(-88.723) : T(-709.784);
  using Plain = typename A::PlainObject;  // x's shape and storage order (softmax passes 2-d arrays)
  const Plain argument = x;
  Plain out = argument.exp();
  const T* in = argument.data();
  T* values = out.data();
  for (Eigen::Index i = 0; i < out.size(); ++i)
    values[i] = in[i] < kLowestArgument ? T(0) : values[i];
  return out;
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
Column<T> log1p_vectorized(const Column<T>& u) {
  const Column<T> w = u + T(1);
  Column<T> out = w.log();
  for (Eigen::Index i = 0; i < out.size(); ++i) {
    const T corrected = out[i] * u[i] / (w[i] - T(1));  // computed in every lane, then chosen
    out[i] = w[i] == T(1) ? u[i] : corrected;
  }
  return out;
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
  Column<T> array(const A& x) const {
    // Each transcendental evaluated once, into columns (an expression would repeat them per use).
    const Column<T> bx = x * beta;
    const Column<T> tail = log1p_vectorized<T>((-bx.abs()).exp());
    Column<T> out = (bx.max(T(0)) + tail) / beta;
    for (Eigen::Index i = 0; i < out.size(); ++i) out[i] = bx[i] > threshold ? x[i] : out[i];
    return out;
  }
};

}  // namespace bg::cpu::BG_CPU_ISA
