#pragma once
// Helpers shared by the core test suites.

#include <bg/core.h>
#include <doctest/doctest.h>

#include <functional>
#include <vector>

namespace bg::test {

using Function = std::function<Tensor(const std::vector<Tensor>&)>;

/// A float64 leaf that requires grad, drawn from N(0, 1) with its own seed.
inline Tensor leaf(const Shape& sizes, uint64_t seed = 1) {
  Generator generator(seed);
  return randn(sizes, kFloat64, &generator).requires_grad_();
}

/// Like leaf(), with values in [low, high) (for log, sqrt, division, ...).
inline Tensor leaf_in(const Shape& sizes, double low, double high, uint64_t seed = 1) {
  Generator generator(seed);
  return (rand(sizes, kFloat64, &generator) * (high - low) + low).requires_grad_();
}

/// A non-contiguous float64 leaf of the given sizes: a permuted view (2+ dims) or a strided slice
/// (1 dim) of a larger tensor, so ops see strides that are not row-major.
inline Tensor strided_leaf(const Shape& sizes, uint64_t seed = 1, double low = -1,
                           double high = 1) {
  Generator generator(seed);
  Tensor base;
  if (sizes.size() >= 2) {
    const Shape reversed(sizes.rbegin(), sizes.rend());
    Shape order;
    for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) order.push_back(d);
    base = rand(reversed, kFloat64, &generator).permute(order);
  } else {
    Shape doubled = sizes;
    if (!doubled.empty()) doubled[0] *= 2;
    base = rand(doubled, kFloat64, &generator);
    if (!sizes.empty()) base = base.slice(0, 0, doubled[0], 2);
  }
  // Scale in place, so the strides of `base` are kept (an out-of-place op would be contiguous).
  Tensor out = base.detach();
  {
    NoGradGuard no_grad;
    out.mul_(high - low).add_(low);
  }
  return out.requires_grad_();
}

/// First and (optionally) second derivatives of `fn` at `inputs` agree with finite differences.
inline void check_gradients(const Function& fn, const std::vector<Tensor>& inputs,
                            bool second_order = true) {
  CHECK(autograd::gradcheck(fn, inputs));
  if (second_order) CHECK(autograd::gradgradcheck(fn, inputs));
}

}  // namespace bg::test
