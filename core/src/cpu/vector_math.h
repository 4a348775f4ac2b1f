#pragma once
// A correction to Eigen 3.4's vectorized exp, for the softmax kernels (the elementwise kernels
// use elementwise_math.h).

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace bg::cpu::BG_CPU_ISA {

// Eigen 3.4's select() has no vectorized path: it evaluates its branches one element at a time,
// transcendental functions included (through libm). So the helper below evaluates the function
// with Eigen's vectorized code and chooses in a plain loop, which the compiler vectorizes into
// blends.

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

}  // namespace bg::cpu::BG_CPU_ISA
