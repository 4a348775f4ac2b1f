#pragma once
// Corrections to Eigen 3.4's vectorized math, shared by the CPU kernels.

#include <Eigen/Core>
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

}  // namespace bg::cpu
