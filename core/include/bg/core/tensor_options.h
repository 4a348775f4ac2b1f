#pragma once
// TensorOptions: dtype, device and requires_grad for factories, with chained setters as in
// LibTorch:
//   bg::zeros({2, 3}, bg::TensorOptions().dtype(bg::kFloat64).requires_grad(true))

#include <optional>

#include "bg/core/api.h"
#include "bg/core/device.h"
#include "bg/core/dtype.h"

BG_API_BEGIN

namespace bg {

class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(Dtype dtype) : dtype_(dtype) {}      // NOLINT: `zeros({2}, kInt64)` reads well
  TensorOptions(Device device) : device_(device) {}  // NOLINT
  TensorOptions(DeviceType type) : device_(type) {}  // NOLINT

  TensorOptions dtype(Dtype dtype) const {
    TensorOptions o = *this;
    o.dtype_ = dtype;
    return o;
  }
  TensorOptions device(Device device) const {
    TensorOptions o = *this;
    o.device_ = device;
    return o;
  }
  TensorOptions requires_grad(bool requires_grad) const {
    TensorOptions o = *this;
    o.requires_grad_ = requires_grad;
    return o;
  }

  /// The dtype, or `fallback` when none was set.
  Dtype dtype_or(Dtype fallback) const { return dtype_.value_or(fallback); }
  bool has_dtype() const { return dtype_.has_value(); }
  Dtype dtype() const { return dtype_or(kDefaultDtype); }
  Device device() const { return device_; }
  bool requires_grad() const { return requires_grad_; }

 private:
  std::optional<Dtype> dtype_;
  Device device_;
  bool requires_grad_ = false;
};

/// Shorthands in LibTorch's style: `bg::dtype(bg::kInt64)`, `bg::device(bg::kCUDA)`.
inline TensorOptions dtype(Dtype d) { return TensorOptions().dtype(d); }
inline TensorOptions device(Device d) { return TensorOptions().device(d); }
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

}  // namespace bg

BG_API_END
