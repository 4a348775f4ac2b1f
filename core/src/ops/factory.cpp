// Factories and the default generators.

#include "bg/core/factory.h"

#include <cmath>
#include <cstring>

#include "bg/core/tensor_impl.h"
#include "ops/op_utils.h"

namespace bg {

namespace {

Tensor finish(Tensor t, const TensorOptions& options) {
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

void check_sizes(const char* op, const Shape& sizes) {
  for (int64_t s : sizes) {
    BG_CHECK(s >= 0, op, "sizes must be non-negative, got ", shape_str(sizes));
  }
}

Tensor random_tensor(RandomOp op, const Shape& sizes, Dtype dtype, Device device,
                     Generator* generator, double a, double b) {
  Tensor out = detail::empty_tensor(sizes, dtype, device);
  detail::fill_random(op, out, generator, a, b);
  return out;
}

}  // namespace

Tensor empty(const Shape& sizes, TensorOptions options) {
  check_sizes("empty", sizes);
  return finish(detail::empty_tensor(sizes, options.dtype(), options.device()), options);
}

Tensor full(const Shape& sizes, const Scalar& value, TensorOptions options) {
  check_sizes("full", sizes);
  const Dtype dtype = options.dtype_or(value.is_floating() ? kDefaultDtype : value.kind());
  Tensor out = detail::empty_tensor(sizes, dtype, options.device());
  detail::backend_of(out).fill(out, value);
  return finish(out, options);
}

Tensor zeros(const Shape& sizes, TensorOptions options) {
  return full(sizes, 0, options.dtype(options.dtype()));
}
Tensor ones(const Shape& sizes, TensorOptions options) {
  return full(sizes, 1, options.dtype(options.dtype()));
}
Tensor scalar_tensor(const Scalar& value, TensorOptions options) {
  return full({}, value, options);
}

Tensor arange(const Scalar& end, TensorOptions options) { return arange(0, end, 1, options); }

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, TensorOptions options) {
  const bool integral = !start.is_floating() && !end.is_floating() && !step.is_floating();
  const Dtype dtype = options.dtype_or(integral ? kInt64 : kDefaultDtype);
  const double s = start.to<double>(), e = end.to<double>(), d = step.to<double>();
  BG_CHECK(d != 0, "arange", "step must be nonzero");
  BG_CHECK(std::isfinite(s) && std::isfinite(e), "arange", "bounds must be finite, got ", start,
           " and ", end);
  BG_CHECK((d > 0 && e >= s) || (d < 0 && e <= s), "arange", "the range [", start, ", ", end,
           ") and step ", step, " disagree in sign");
  const auto n = static_cast<int64_t>(std::ceil((e - s) / d));
  // Computed on the host in float64 (exact for integers), then converted.
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[i] = s + static_cast<double>(i) * d;
  return from_data(values.data(), kFloat64, n, {n}, options.dtype(dtype));
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions options) {
  BG_CHECK(steps >= 0, "linspace", "steps must be non-negative, got ", steps);
  std::vector<double> values(static_cast<size_t>(steps));
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // The second half counts back from `end`, so both ends are exact (as PyTorch does); a single
  // step gives `start`.
  for (int64_t i = 0; i < steps; ++i) {
    values[i] = i < steps / 2 || steps == 1 ? start + step * static_cast<double>(i)
                                            : end - step * static_cast<double>(steps - 1 - i);
  }
  return from_data(values.data(), kFloat64, steps, {steps}, options.dtype(options.dtype()));
}

Tensor eye(int64_t n, std::optional<int64_t> m, TensorOptions options) {
  const int64_t cols = m.value_or(n);
  BG_CHECK(n >= 0 && cols >= 0, "eye", "sizes must be non-negative, got ", n, " x ", cols);
  std::vector<double> values(static_cast<size_t>(n * cols), 0.0);
  for (int64_t i = 0; i < std::min(n, cols); ++i) values[i * cols + i] = 1.0;
  return from_data(values.data(), kFloat64, n * cols, {n, cols}, options.dtype(options.dtype()));
}

Tensor rand(const Shape& sizes, TensorOptions options, Generator* generator) {
  check_sizes("rand", sizes);
  BG_CHECK(is_floating(options.dtype()), "rand", "expected a float dtype, got ", options.dtype());
  return finish(random_tensor(RandomOp::Uniform, sizes, options.dtype(), options.device(),
                              generator, 0.0, 1.0),
                options);
}

Tensor randn(const Shape& sizes, TensorOptions options, Generator* generator) {
  check_sizes("randn", sizes);
  BG_CHECK(is_floating(options.dtype()), "randn", "expected a float dtype, got ", options.dtype());
  return finish(random_tensor(RandomOp::Normal, sizes, options.dtype(), options.device(), generator,
                              0.0, 1.0),
                options);
}

Tensor randint(int64_t low, int64_t high, const Shape& sizes, TensorOptions options,
               Generator* generator) {
  check_sizes("randint", sizes);
  BG_CHECK(low < high, "randint", "expected low < high, got [", low, ", ", high, ")");
  const Dtype dtype = options.dtype_or(kInt64);
  BG_CHECK(dtype != kBool, "randint", "cannot draw integers into a bool tensor");
  Tensor drawn = random_tensor(RandomOp::Randint, sizes, kInt64, options.device(), generator,
                               static_cast<double>(low), static_cast<double>(high));
  return finish(detail::cast(drawn, dtype), options);
}

namespace {
TensorOptions like_options(const Tensor& like, const TensorOptions& options) {
  detail::check_defined("*_like", like, "the template tensor");
  TensorOptions o = options.dtype(options.dtype_or(like.dtype()));
  // A device set explicitly wins; the default (cpu) means "like the template".
  return options.device() == Device::cpu() ? o.device(like.device()) : o;
}
}  // namespace

Tensor empty_like(const Tensor& like, TensorOptions o) {
  return empty(like.sizes(), like_options(like, o));
}
Tensor zeros_like(const Tensor& like, TensorOptions o) {
  return zeros(like.sizes(), like_options(like, o));
}
Tensor ones_like(const Tensor& like, TensorOptions o) {
  return ones(like.sizes(), like_options(like, o));
}
Tensor full_like(const Tensor& like, const Scalar& v, TensorOptions o) {
  return full(like.sizes(), v, like_options(like, o));
}
Tensor rand_like(const Tensor& like, TensorOptions o, Generator* g) {
  return rand(like.sizes(), like_options(like, o), g);
}
Tensor randn_like(const Tensor& like, TensorOptions o, Generator* g) {
  return randn(like.sizes(), like_options(like, o), g);
}
Tensor randint_like(const Tensor& like, int64_t low, int64_t high, TensorOptions o, Generator* g) {
  return randint(low, high, like.sizes(), like_options(like, o), g);
}

Tensor from_data(const void* data, Dtype dtype, int64_t count, const Shape& sizes,
                 TensorOptions options) {
  check_sizes("tensor", sizes);
  BG_CHECK(numel_of(sizes) == count, "tensor", "got ", count, " values for shape ",
           shape_str(sizes), " (", numel_of(sizes), " elements)");
  Tensor host = detail::empty_tensor(sizes, dtype, Device::cpu());
  if (count > 0)
    std::memcpy(host.impl()->data(), data, static_cast<size_t>(count) * element_size(dtype));
  Tensor out = detail::cast(host, options.dtype_or(dtype));
  if (options.device() != Device::cpu()) out = out.to(options.device());
  return finish(out, options);
}

// ---- Generators ---------------------------------------------------------------------------------

Generator& default_generator(Device device) {
  static Generator generators[kNumDeviceTypes];
  return generators[static_cast<size_t>(device.type)];
}

void manual_seed(uint64_t seed) {
  for (int type = 0; type < kNumDeviceTypes; ++type) {
    default_generator(Device(static_cast<DeviceType>(type))).manual_seed(seed);
  }
}

}  // namespace bg
