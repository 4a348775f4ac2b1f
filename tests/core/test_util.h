#pragma once
// Helpers shared by the core test suites.

#include <bg/core.h>
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
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

/// 0, 1, ..., n-1 as float64 in `sizes`: each value tells which (row-major) element it is.
inline Tensor iota(const Shape& sizes) { return arange(numel_of(sizes), kFloat64).reshape(sizes); }

/// The elements of `t` (any dtype, any strides) in row-major order, as doubles.
inline std::vector<double> values(const Tensor& t) {
  const Tensor flat = t.detach().to(kFloat64).contiguous();
  const double* p = flat.data_ptr<double>();
  return {p, p + flat.numel()};
}

/// The elements of an int64 or bool tensor (any strides) in row-major order, exactly.
inline std::vector<int64_t> ints(const Tensor& t) {
  const Tensor flat = t.detach().to(kInt64).contiguous();
  const int64_t* p = flat.data_ptr<int64_t>();
  return {p, p + flat.numel()};
}

/// Infinity and NaN as doubles, for expected values.
inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Every element of `actual` (row-major) is within atol + rtol |expected| of `expected`; an
/// infinity is only matched by the same infinity, and a NaN only by a NaN.
inline void check_close(const Tensor& actual, const std::vector<double>& expected, double rtol,
                        double atol = 0.0) {
  const std::vector<double> got = values(actual);
  REQUIRE(got.size() == expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element ", i, ": got ", got[i], ", expected ", expected[i]);
    const bool both_nan = std::isnan(got[i]) && std::isnan(expected[i]);
    // Infinities only pass through ==: with rtol > 0 their bound would be infinite, too loose.
    const bool within = std::isfinite(expected[i]) &&
                        std::abs(got[i] - expected[i]) <= atol + rtol * std::abs(expected[i]);
    CHECK((both_nan || got[i] == expected[i] || within));
  }
}

/// `actual` has the sizes, dtype and elements of `expected` (both are printed when it fails).
inline void check_equal(const Tensor& actual, const Tensor& expected) {
  INFO("actual: ", actual, "\nexpected: ", expected);
  CHECK(equal(actual, expected));
}

/// `run` throws bg::Error whose message contains every one of `parts` (the op, the shapes, ...).
/// `run` is called once, so it may have side effects (a backward that frees the graph).
inline void check_error(const std::vector<std::string>& parts, const std::function<void()>& run) {
  std::string message;
  bool thrown = false;
  try {
    run();
  } catch (const Error& e) {
    thrown = true;
    message = e.what();
  }
  CHECK_MESSAGE(thrown, "expected a bg::Error");
  if (!thrown) return;
  INFO("message: ", message);
  for (const std::string& part : parts) {
    INFO("expected part: ", part);
    CHECK(message.find(part) != std::string::npos);
  }
}

/// Backward from the scalar `loss` throws because a tensor that `node` saved (`saved`, described as
/// in messages: "float64[3] on cpu") was modified in place after it was saved at `saved_version`.
inline void check_modified_after_save(const Tensor& loss, const std::string& node,
                                      const std::string& saved, uint32_t saved_version) {
  check_error(
      {node + ": a tensor it saved for backward (" + saved +
       ") was modified by an in-place operation: it is at version " +
       std::to_string(saved_version + 1) + ", expected version " + std::to_string(saved_version)},
      [&] { loss.backward(); });
}

/// The gradient of sum(fn(x)) with respect to `x`.
inline Tensor gradient_of(const std::function<Tensor(const Tensor&)>& fn, const Tensor& x) {
  return autograd::grad({fn(x).sum()}, {x})[0];
}

/// First and (optionally) second derivatives of `fn` at `inputs` agree with finite differences.
inline void check_gradients(const Function& fn, const std::vector<Tensor>& inputs,
                            bool second_order = true) {
  CHECK(autograd::gradcheck(fn, inputs));
  if (second_order) CHECK(autograd::gradgradcheck(fn, inputs));
}

/// The CPU backend without its fused kernels: every primitive forwards to it, and
/// gaussian_kernels() and optimizer_kernels() are null, as on a backend that implements only the
/// primitives (backend.h).
class PrimitivesOnlyBackend final : public Backend {
 public:
  explicit PrimitivesOnlyBackend(Backend& inner) : inner_(inner) {}
  Allocator& allocator(Device device) override { return inner_.allocator(device); }
#define BG_KERNEL(name, parameters, arguments) \
  void name parameters override { inner_.name arguments; }
#include "bg/core/backend_primitives.def"
#undef BG_KERNEL

 private:
  Backend& inner_;
};

/// What `fn` returns when run with the CPU backend replaced by PrimitivesOnlyBackend: the fused
/// ops then take the compositions of primitives that a backend without fused kernels gets.
template <typename Fn>
auto with_primitives_only(const Fn& fn) {
  Backend& cpu = backend(DeviceType::CPU);
  PrimitivesOnlyBackend primitives(cpu);
  struct Restore {
    Backend& cpu;
    ~Restore() { register_backend(DeviceType::CPU, &cpu); }
  } restore{cpu};
  register_backend(DeviceType::CPU, &primitives);
  return fn();
}

}  // namespace bg::test
