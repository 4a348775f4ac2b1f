#pragma once
// Scalar: a number given where a tensor could be (x + 2, clamp(x, 0, 1), full({2}, 3.5)).

#include <cstdint>
#include <ostream>
#include <type_traits>

#include "bg/core/api.h"
#include "bg/core/dtype.h"

BG_API_BEGIN

namespace bg {

/// A bool, integer or floating-point number. Its kind takes part in type promotion the way a Python
/// number does in PyTorch: int64 tensor + 2.5 is float32, float32 tensor + 2.5 stays float32.
class Scalar {
 public:
  Scalar(bool v) : kind_(kBool), i_(v) {}  // NOLINT: numbers convert implicitly, as in LibTorch
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Scalar(T v) : kind_(kInt64), i_(static_cast<int64_t>(v)) {}  // NOLINT
  template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Scalar(T v) : kind_(kFloat64), d_(static_cast<double>(v)) {}  // NOLINT

  /// kBool, kInt64 or kFloat64: the category of the number.
  Dtype kind() const { return kind_; }
  bool is_floating() const { return kind_ == kFloat64; }

  /// The value converted to T.
  template <typename T>
  T to() const {
    return kind_ == kFloat64 ? static_cast<T>(d_) : static_cast<T>(i_);
  }

 private:
  Dtype kind_;
  union {
    int64_t i_;
    double d_;
  };
};

std::ostream& operator<<(std::ostream& out, const Scalar& s);

}  // namespace bg

BG_API_END
