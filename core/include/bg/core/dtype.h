#pragma once
// Element types and PyTorch's type promotion.

#include <cstdint>
#include <ostream>
#include <type_traits>

#include "bg/core/api.h"
#include "bg/core/error.h"

BG_API_BEGIN

namespace bg {

/// The element type of a tensor.
enum class Dtype : uint8_t { Bool, Int64, Float32, Float64 };

inline constexpr Dtype kBool = Dtype::Bool;
inline constexpr Dtype kInt64 = Dtype::Int64;
inline constexpr Dtype kLong = Dtype::Int64;
inline constexpr Dtype kFloat32 = Dtype::Float32;
inline constexpr Dtype kFloat = Dtype::Float32;
inline constexpr Dtype kFloat64 = Dtype::Float64;
inline constexpr Dtype kDouble = Dtype::Float64;

/// The dtype factories use when none is given (float32, as in PyTorch).
inline constexpr Dtype kDefaultDtype = kFloat32;

/// "float32", "float64", "int64", "bool".
const char* dtype_name(Dtype dtype);
std::ostream& operator<<(std::ostream& out, Dtype dtype);

/// Bytes per element.
constexpr size_t element_size(Dtype dtype) {
  switch (dtype) {
    case Dtype::Bool:
      return 1;
    case Dtype::Int64:
      return 8;
    case Dtype::Float32:
      return 4;
    case Dtype::Float64:
      return 8;
  }
  return 0;
}

constexpr bool is_floating(Dtype dtype) { return dtype == kFloat32 || dtype == kFloat64; }

/// The dtype two operands of the same priority promote to (bool < int64 < float32 < float64).
constexpr Dtype promote_types(Dtype a, Dtype b) { return a > b ? a : b; }

/// The C++ type of each dtype, and back.
template <typename T>
struct DtypeOf;
template <>
struct DtypeOf<bool> {
  static constexpr Dtype value = kBool;
};
template <>
struct DtypeOf<int64_t> {
  static constexpr Dtype value = kInt64;
};
template <>
struct DtypeOf<float> {
  static constexpr Dtype value = kFloat32;
};
template <>
struct DtypeOf<double> {
  static constexpr Dtype value = kFloat64;
};
template <typename T>
inline constexpr Dtype dtype_of = DtypeOf<T>::value;

/// Calls `fn(T{})` with T the C++ type of `dtype`: the one place a runtime dtype becomes a
/// template argument, so kernels can be written once as templates.
template <typename Fn>
decltype(auto) dispatch_all(Dtype dtype, Fn&& fn) {
  switch (dtype) {
    case Dtype::Bool:
      return fn(bool{});
    case Dtype::Int64:
      return fn(int64_t{});
    case Dtype::Float32:
      return fn(float{});
    case Dtype::Float64:
      return fn(double{});
  }
  throw Error("dispatch: unknown dtype");
}

/// Like dispatch_all, for kernels that exist for float32 and float64 only; `op` names the caller in
/// the error thrown for other dtypes.
template <typename Fn>
decltype(auto) dispatch_floating(Dtype dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case Dtype::Float32:
      return fn(float{});
    case Dtype::Float64:
      return fn(double{});
    default:
      throw Error(
          detail::concat(op, ": expected a float32 or float64 tensor, got ", dtype_name(dtype)));
  }
}

}  // namespace bg

BG_API_END
