#pragma once
// Factories: tensors made from sizes, ranges, random draws and C++ data.

#include <functional>
#include <initializer_list>
#include <optional>
#include <vector>

#include "bg/core/api.h"
#include "bg/core/random.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg {

/// Uninitialized memory of the given sizes.
Tensor empty(const Shape& sizes, TensorOptions options = {});
Tensor zeros(const Shape& sizes, TensorOptions options = {});
Tensor ones(const Shape& sizes, TensorOptions options = {});
/// Filled with `value`; the dtype defaults to the value's kind (bool, int64, or float32).
Tensor full(const Shape& sizes, const Scalar& value, TensorOptions options = {});
/// 0, 1, ..., end-1. int64 when every bound is an integer, else float32 (as in PyTorch).
Tensor arange(const Scalar& end, TensorOptions options = {});
/// start, start+step, ... while < end (> end for a negative step).
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1,
              TensorOptions options = {});
/// `steps` evenly spaced values from start to end, both included.
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});
/// The n x m identity (m = n by default).
Tensor eye(int64_t n, std::optional<int64_t> m = std::nullopt, TensorOptions options = {});
/// U[0, 1) draws.
Tensor rand(const Shape& sizes, TensorOptions options = {}, Generator* generator = nullptr);
/// N(0, 1) draws.
Tensor randn(const Shape& sizes, TensorOptions options = {}, Generator* generator = nullptr);
/// Integers drawn uniformly from [low, high); int64 by default.
Tensor randint(int64_t low, int64_t high, const Shape& sizes, TensorOptions options = {},
               Generator* generator = nullptr);
/// Dropout's mask: 1 / (1 - p) with probability 1 - p, else 0 (zeros when p = 1); a float dtype.
/// Element i is kept exactly when rand(sizes)'s element i would be below 1 - p.
Tensor dropout_mask(const Shape& sizes, double p, TensorOptions options = {},
                    Generator* generator = nullptr);
/// A 0-dim tensor holding `value`.
Tensor scalar_tensor(const Scalar& value, TensorOptions options = {});

/// The `*_like` forms: sizes, dtype and device of `like` unless `options` says otherwise.
Tensor empty_like(const Tensor& like, TensorOptions options = {});
Tensor zeros_like(const Tensor& like, TensorOptions options = {});
Tensor ones_like(const Tensor& like, TensorOptions options = {});
Tensor full_like(const Tensor& like, const Scalar& value, TensorOptions options = {});
Tensor rand_like(const Tensor& like, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randn_like(const Tensor& like, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randint_like(const Tensor& like, int64_t low, int64_t high, TensorOptions options = {},
                    Generator* generator = nullptr);

/// A tensor of `sizes` holding a copy of `count` elements of type `dtype` at `data` (host memory),
/// converted to options' dtype if it sets one.
Tensor from_data(const void* data, Dtype dtype, int64_t count, const Shape& sizes,
                 TensorOptions options = {});

/// A tensor over host memory the application owns, without copying: `sizes` elements of `dtype`,
/// row-major, at `data` (aligned to the dtype's size; null only when there are no elements). The
/// tensor and its views read and write that memory: in-place ops change it. `deleter(data)` runs
/// once the last tensor using the memory is gone; without a deleter the memory must outlive them.
/// On a bg::Error (bad sizes, null or misaligned data) the memory stays the caller's, and the
/// deleter does not run.
Tensor from_blob(void* data, const Shape& sizes, Dtype dtype,
                 std::function<void(void*)> deleter = nullptr);
/// from_blob with element strides, one per dim, each at least 0: element (i, j, ...) lies at
/// `data` + i * strides[0] + j * strides[1] + ... elements.
Tensor from_blob(void* data, const Shape& sizes, const Shape& strides, Dtype dtype,
                 std::function<void(void*)> deleter = nullptr);

namespace detail {
// C++ element types map to dtypes: float -> float32, double -> float64, integers -> int64, bool.
template <typename T>
using Stored = std::conditional_t<std::is_same_v<T, bool>, bool,
                                  std::conditional_t<std::is_integral_v<T>, int64_t, T>>;
// What the values are collected in (std::vector<bool> has no data()).
template <typename T>
using Buffered = std::conditional_t<std::is_same_v<T, bool>, uint8_t, Stored<T>>;

template <typename T>
void flatten_into(std::vector<Buffered<T>>& out, Shape& sizes, size_t depth, const T& value) {
  (void)sizes;
  (void)depth;
  out.push_back(static_cast<Buffered<T>>(value));
}
template <typename T, typename Inner>
void flatten_into(std::vector<Buffered<T>>& out, Shape& sizes, size_t depth,
                  std::initializer_list<Inner> list) {
  const auto n = static_cast<int64_t>(list.size());
  if (sizes.size() <= depth) sizes.push_back(n);
  BG_CHECK(sizes[depth] == n, "tensor", "nested lists have inconsistent lengths at depth ", depth,
           " (", sizes[depth], " vs ", n, ")");
  for (const Inner& inner : list) flatten_into<T>(out, sizes, depth + 1, inner);
}

template <typename T, typename List>
Tensor tensor_from_list(const List& list, TensorOptions options) {
  std::vector<Buffered<T>> values;
  Shape sizes;
  flatten_into<T>(values, sizes, 0, list);
  return from_data(values.data(), dtype_of<Stored<T>>, static_cast<int64_t>(values.size()), sizes,
                   options);
}
}  // namespace detail

/// A tensor from values: `bg::tensor({1.f, 2.f})`, `bg::tensor({{1, 2}, {3, 4}})`. The dtype
/// follows the C++ type (float -> float32, double -> float64, integers -> int64, bool) unless
/// `options` sets one.
template <typename T>
Tensor tensor(std::initializer_list<T> values, TensorOptions options = {}) {
  return detail::tensor_from_list<T>(values, options);
}
template <typename T>
Tensor tensor(std::initializer_list<std::initializer_list<T>> values, TensorOptions options = {}) {
  return detail::tensor_from_list<T>(values, options);
}
template <typename T>
Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<T>>> values,
              TensorOptions options = {}) {
  return detail::tensor_from_list<T>(values, options);
}
/// A tensor of `sizes` from a flat vector (row-major).
template <typename T>
Tensor tensor(const std::vector<T>& values, const Shape& sizes, TensorOptions options = {}) {
  std::vector<detail::Buffered<T>> converted(values.begin(), values.end());
  return from_data(converted.data(), dtype_of<detail::Stored<T>>,
                   static_cast<int64_t>(converted.size()), sizes, options);
}

}  // namespace bg

BG_API_END
