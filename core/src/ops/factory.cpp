// Factories and the default generators.

#include "bg/core/factory.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "bg/core/object_pool.h"
#include "bg/core/tensor_impl.h"
#include "ops/op_utils.h"

namespace bg {

namespace {

Tensor finish(Tensor t, const TensorOptions& options) {
  if (options.requires_grad()) t.requires_grad_(true);
  return t;
}

Tensor random_tensor(const char* op, RandomOp kind, const Shape& sizes, Dtype dtype, Device device,
                     Generator* generator, double a, double b) {
  Tensor out = detail::empty_tensor(op, sizes, dtype, device);
  detail::fill_random(kind, out, generator, a, b);
  return out;
}

// full() under the name of the factory the user called.
Tensor filled(const char* op, const Shape& sizes, const Scalar& value, TensorOptions options) {
  const Dtype dtype = options.dtype_or(value.is_floating() ? kDefaultDtype : value.kind());
  Tensor out = detail::empty_tensor(op, sizes, dtype, options.device());
  detail::backend_of(out).fill(out, value);
  return finish(out, options);
}

// A float64 tensor on the host, which `fill` writes element by element, converted to the dtype
// and device of `options` (the ranges are computed on the host in float64, exact for integers).
template <typename Fill>
Tensor host_values(const char* op, int64_t count, const Shape& sizes, TensorOptions options,
                   Dtype dtype, Fill fill) {
  Tensor host = detail::empty_tensor(op, sizes, kFloat64, Device::cpu());
  double* values = host.data_ptr<double>();
  for (int64_t i = 0; i < count; ++i) values[i] = fill(i);
  Tensor out = detail::cast(host, dtype);
  if (options.device() != Device::cpu()) out = out.to(options.device());
  return finish(out, options);
}

}  // namespace

Tensor empty(const Shape& sizes, TensorOptions options) {
  return finish(detail::empty_tensor("empty", sizes, options.dtype(), options.device()), options);
}

Tensor full(const Shape& sizes, const Scalar& value, TensorOptions options) {
  return filled("full", sizes, value, options);
}

Tensor zeros(const Shape& sizes, TensorOptions options) {
  return filled("zeros", sizes, 0, options.dtype(options.dtype()));
}
Tensor ones(const Shape& sizes, TensorOptions options) {
  return filled("ones", sizes, 1, options.dtype(options.dtype()));
}
Tensor scalar_tensor(const Scalar& value, TensorOptions options) {
  return filled("scalar_tensor", {}, value, options);
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
  const double count = std::ceil((e - s) / d);
  // 2^63 as a double: a count from there up does not convert to int64.
  BG_CHECK(count < 9223372036854775808.0, "arange", "the range [", start, ", ", end, ") and step ",
           step, " give ", count, " elements, more than a tensor can hold");
  const auto n = static_cast<int64_t>(count);
  return host_values("arange", n, {n}, options, dtype,
                     [&](int64_t i) { return s + static_cast<double>(i) * d; });
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions options) {
  BG_CHECK(steps >= 0, "linspace", "steps must be non-negative, got ", steps);
  const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
  // The second half counts back from `end`, so both ends are exact (as PyTorch does); a single
  // step gives `start`.
  return host_values("linspace", steps, {steps}, options, options.dtype(), [&](int64_t i) {
    return i < steps / 2 || steps == 1 ? start + step * static_cast<double>(i)
                                       : end - step * static_cast<double>(steps - 1 - i);
  });
}

Tensor eye(int64_t n, std::optional<int64_t> m, TensorOptions options) {
  const int64_t cols = m.value_or(n);
  BG_CHECK(n >= 0 && cols >= 0, "eye", "sizes must be non-negative, got ", n, " x ", cols);
  Tensor out = filled("eye", {n, cols}, 0, options.dtype(options.dtype()).requires_grad(false));
  // The diagonal as a strided view (its stride only matters with two or more elements, and then
  // cols + 1 fits because 2 * cols does).
  const int64_t length = std::min(n, cols);
  const Tensor diagonal = detail::alias(out, {length}, {length > 1 ? cols + 1 : 1}, 0);
  detail::backend_of(out).fill(diagonal, 1);
  return finish(out, options);
}

Tensor rand(const Shape& sizes, TensorOptions options, Generator* generator) {
  BG_CHECK(is_floating(options.dtype()), "rand", "expected a float dtype, got ", options.dtype());
  return finish(random_tensor("rand", RandomOp::Uniform, sizes, options.dtype(), options.device(),
                              generator, 0.0, 1.0),
                options);
}

Tensor randn(const Shape& sizes, TensorOptions options, Generator* generator) {
  BG_CHECK(is_floating(options.dtype()), "randn", "expected a float dtype, got ", options.dtype());
  return finish(random_tensor("randn", RandomOp::Normal, sizes, options.dtype(), options.device(),
                              generator, 0.0, 1.0),
                options);
}

Tensor dropout_mask(const Shape& sizes, double p, TensorOptions options, Generator* generator) {
  BG_CHECK(is_floating(options.dtype()), "dropout_mask", "expected a float dtype, got ",
           options.dtype());
  BG_CHECK(p >= 0.0 && p <= 1.0, "dropout_mask", "the dropout probability must be in [0, 1], got ",
           p);
  if (p == 1.0) return zeros(sizes, options);
  return finish(random_tensor("dropout_mask", RandomOp::Bernoulli, sizes, options.dtype(),
                              options.device(), generator, 1.0 - p, 1.0 / (1.0 - p)),
                options);
}

Tensor randint(int64_t low, int64_t high, const Shape& sizes, TensorOptions options,
               Generator* generator) {
  BG_CHECK(low < high, "randint", "expected low < high, got [", low, ", ", high, ")");
  const Dtype dtype = options.dtype_or(kInt64);
  BG_CHECK(dtype != kBool, "randint", "cannot draw integers into a bool tensor");
  Tensor drawn = random_tensor("randint", RandomOp::Randint, sizes, kInt64, options.device(),
                               generator, static_cast<double>(low), static_cast<double>(high));
  return finish(detail::cast(drawn, dtype), options);
}

namespace {
// Checks the template: each *_like calls this before reading like.sizes(), in a statement of its
// own (the order in which a call's arguments are evaluated is the compiler's: clang read the sizes
// of an undefined tensor first, and threw the generic error instead of this one).
TensorOptions like_options(const Tensor& like, const TensorOptions& options) {
  detail::check_defined("*_like", like, "the template tensor");
  TensorOptions o = options.dtype(options.dtype_or(like.dtype()));
  // A device set explicitly wins; the default (cpu) means "like the template".
  return options.device() == Device::cpu() ? o.device(like.device()) : o;
}
}  // namespace

Tensor empty_like(const Tensor& like, TensorOptions o) {
  const TensorOptions options = like_options(like, o);
  return empty(like.sizes(), options);
}
Tensor zeros_like(const Tensor& like, TensorOptions o) {
  const TensorOptions options = like_options(like, o);
  return zeros(like.sizes(), options);
}
Tensor ones_like(const Tensor& like, TensorOptions o) {
  const TensorOptions options = like_options(like, o);
  return ones(like.sizes(), options);
}
Tensor full_like(const Tensor& like, const Scalar& v, TensorOptions o) {
  const TensorOptions options = like_options(like, o);
  return full(like.sizes(), v, options);
}
Tensor rand_like(const Tensor& like, TensorOptions o, Generator* g) {
  const TensorOptions options = like_options(like, o);
  return rand(like.sizes(), options, g);
}
Tensor randn_like(const Tensor& like, TensorOptions o, Generator* g) {
  const TensorOptions options = like_options(like, o);
  return randn(like.sizes(), options, g);
}
Tensor randint_like(const Tensor& like, int64_t low, int64_t high, TensorOptions o, Generator* g) {
  const TensorOptions options = like_options(like, o);
  return randint(low, high, like.sizes(), options, g);
}

Tensor from_data(const void* data, Dtype dtype, int64_t count, const Shape& sizes,
                 TensorOptions options) {
  const int64_t numel = numel_of(sizes, "tensor");
  BG_CHECK(numel == count, "tensor", "got ", count, " values for shape ", shape_str(sizes), " (",
           numel, " elements)");
  Tensor host = detail::empty_tensor("tensor", sizes, dtype, Device::cpu());
  if (count > 0)
    std::memcpy(host.impl()->data(), data, static_cast<size_t>(count) * element_size(dtype));
  Tensor out = detail::cast(host, options.dtype_or(dtype));
  if (options.device() != Device::cpu()) out = out.to(options.device());
  return finish(out, options);
}

Tensor from_blob(void* data, const Shape& sizes, Dtype dtype, std::function<void(void*)> deleter) {
  return from_blob(data, sizes, contiguous_strides(sizes, "from_blob"), dtype, std::move(deleter));
}

Tensor from_blob(void* data, const Shape& sizes, const Shape& strides, Dtype dtype,
                 std::function<void(void*)> deleter) {
  // Everything is checked before the storage takes the deleter: on an error the memory stays the
  // caller's.
  BG_CHECK(static_cast<int64_t>(sizes.size()) <= kMaxDims, "from_blob", "at most ", kMaxDims,
           " dims are supported, got shape ", shape_str(sizes));
  BG_CHECK(strides.size() == sizes.size(), "from_blob", "got ", strides.size(),
           " strides for shape ", shape_str(sizes), " (", sizes.size(), " dims)");
  for (int64_t s : strides) {
    BG_CHECK(s >= 0, "from_blob", "strides must be non-negative, got ", shape_str(strides));
  }
  const int64_t numel = numel_of(sizes, "from_blob");
  BG_CHECK(data != nullptr || numel == 0, "from_blob", "data is null, but shape ", shape_str(sizes),
           " has ", numel, " elements");
  const size_t item = element_size(dtype);
  BG_CHECK(reinterpret_cast<uintptr_t>(data) % item == 0, "from_blob", "data at ", data,
           " is not aligned to the ", item, " bytes of a ", dtype_name(dtype));
  // The memory spans from the first element to the last one the strides reach.
  int64_t span = numel > 0 ? 1 : 0;
  for (size_t d = 0; d < sizes.size() && numel > 0; ++d) {
    int64_t reach = 0;
    BG_CHECK(!__builtin_mul_overflow(sizes[d] - 1, strides[d], &reach) &&
                 !__builtin_add_overflow(span, reach, &span) &&
                 !__builtin_mul_overflow(span, static_cast<int64_t>(item), &reach),
             "from_blob", "shape ", shape_str(sizes), " with strides ", shape_str(strides),
             " reaches past 2^63 - 1 bytes");
  }
  auto storage = detail::make_pooled<Storage>(data, static_cast<size_t>(span) * item, Device::cpu(),
                                              std::move(deleter));
  return Tensor(detail::make_pooled<TensorImpl>(std::move(storage), sizes, strides, 0, dtype));
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
