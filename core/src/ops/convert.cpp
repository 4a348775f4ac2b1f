// Conversions and copies: to(dtype), to(device), clone; comparisons of whole tensors.

#include <cmath>

#include "bg/core/autograd/node.h"
#include "bg/core/grad_mode.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

using autograd::Context;
using autograd::Grads;

Tensor Tensor::to(Dtype dtype) const {
  detail::check_defined("to", *this);
  if (this->dtype() == dtype) return *this;
  Tensor out = detail::cast(*this, dtype);
  autograd::record(
      out, "ToCopyBackward", {*this}, {}, false,
      [from = this->dtype()](const Context&, const Tensor& g) -> Grads { return {g.to(from)}; });
  return out;
}

Tensor Tensor::to(Device device) const {
  detail::check_defined("to", *this);
  if (this->device() == device) return *this;
  Tensor out = detail::empty_tensor("to", sizes(), dtype(), device);
  // A host <-> device copy is done by the device's backend.
  backend(device.is_cpu() ? this->device().type : device.type).copy(out, *this);
  autograd::record(
      out, "ToDeviceBackward", {*this}, {}, false,
      [from = this->device()](const Context&, const Tensor& g) -> Grads { return {g.to(from)}; });
  return out;
}

Tensor clone(const Tensor& x) {
  detail::check_defined("clone", x);
  Tensor out = detail::empty_tensor("clone", x.sizes(), x.dtype(), x.device());
  detail::backend_of(x).copy(out, x);
  autograd::record(out, "CloneBackward", {x}, {}, false,
                   [](const Context&, const Tensor& g) -> Grads { return {g}; });
  return out;
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  detail::check_same_device("allclose", a, b);
  NoGradGuard no_grad;
  const Tensor x = a.to(kFloat64), y = b.to(kFloat64);
  const Tensor error = (x - y).abs();
  // An infinite error (an infinity against anything else) is never within tolerance, though an
  // infinite tolerance would allow it; equal infinities count as close; NaN never does.
  const Tensor close = logical_and(error <= (y.abs() * rtol + atol), error < INFINITY);
  return logical_or(close, x == y).logical_not().sum().item<int64_t>() == 0;
}

bool equal(const Tensor& a, const Tensor& b) {
  detail::check_same_device("equal", a, b);
  if (a.sizes() != b.sizes() || a.dtype() != b.dtype()) return false;
  NoGradGuard no_grad;
  return (a != b).sum().item<int64_t>() == 0;
}

}  // namespace bg
