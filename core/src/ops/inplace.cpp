// In-place ops. Each bumps the storage's version counter (Note [Version counter]).
//
// Without autograd involved, they run the kernel straight into the tensor's memory. When autograd
// is involved (grad mode on and self or the other operand requires grad), the result is computed
// out of place, with its graph node, then written into self, and self takes over the result's
// history. Two cases are refused, as in PyTorch: leaves that require grad (their value is what
// the gradient is about: update them under NoGradGuard, as optimizers do) and views (their base
// tensor would not see the new history).

#include "bg/core/autograd/node.h"
#include "bg/core/grad_mode.h"
#include "bg/core/ops.h"
#include "bg/core/random.h"
#include "ops/op_utils.h"

namespace bg {

namespace {

void check_writable(const char* op, const Tensor& self) {
  detail::check_defined(op, self, "self");
  BG_CHECK(!(GradMode::is_enabled() && self.requires_grad() && self.is_leaf()), op,
           "a leaf tensor that requires grad (", describe(self),
           ") cannot be modified in place while grad mode is on; do it under bg::NoGradGuard (as "
           "optimizers do) or use an out-of-place op");
  for (int64_t d = 0; d < self.dim(); ++d) {
    BG_CHECK(self.size(d) <= 1 || self.stride(d) != 0, op, "the tensor ", describe(self),
             " is an expanded view whose elements share memory; clone() it before writing");
  }
}

bool involves_autograd(const Tensor& self, const Tensor& other = {}) {
  return GradMode::is_enabled() &&
         (self.requires_grad() || (other.defined() && other.requires_grad()));
}

// Writes the out-of-place `result` into self and gives self its history.
void assign_with_history(const char* op, Tensor& self, const Tensor& result) {
  BG_CHECK(!self.impl()->is_view(), op, "in-place ", op, " on the view ", describe(self),
           " is not supported when autograd is involved (its base would not see the change); "
           "use out-of-place ops, or modify the base tensor");
  detail::backend_of(self).copy(self, result);
  self.impl()->storage()->bump_version();
  AutogradMeta& meta = self.impl()->autograd_or_create();
  meta.requires_grad = result.requires_grad();
  meta.grad_fn = result.grad_fn();
}

// PyTorch's casting rule for in-place results: never from floating to integer, or to bool.
bool can_cast(Dtype from, Dtype to) {
  if (is_floating(from) && !is_floating(to)) return false;
  if (from != kBool && to == kBool) return false;
  return true;
}

Tensor& inplace_binary(const char* op, Tensor& self, const Tensor& other, BinaryOp kernel,
                       Tensor (*out_of_place)(const Tensor&, const Tensor&)) {
  check_writable(op, self);
  detail::check_same_device(op, self, other);
  // div_ is true division, like div(): integer operands give a float result.
  const Dtype promoted = detail::result_type(self, other);
  const Dtype result = kernel == BinaryOp::Div ? detail::floating_result(promoted) : promoted;
  BG_CHECK(can_cast(result, self.dtype()) && self.dtype() != kBool, op, "the result type ", result,
           " cannot be stored in ", describe(self));
  BG_CHECK(broadcast_shapes(op, self.sizes(), other.sizes()) == self.sizes(), op, "the operand ",
           describe(other), " cannot be broadcast to the shape of ", describe(self));
  if (involves_autograd(self, other)) {
    // The clones keep the old values for backward formulas that read them (mul_, div_), also
    // when `other` overlaps self (x.mul_(x)): saving it uncloned would fail the version check.
    const Tensor operand = detail::shares_storage(other, self) ? other.clone() : other;
    assign_with_history(op, self, out_of_place(self.clone(), operand));
    return self;
  }
  Tensor operand = detail::cast(other, self.dtype());
  if (detail::shares_storage(operand, self) && !operand.is_same(self)) operand = operand.clone();
  detail::backend_of(self).binary(kernel, self, self, detail::broadcast_to(operand, self.sizes()));
  self.impl()->storage()->bump_version();
  return self;
}

Tensor add_tensors(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor sub_tensors(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor mul_tensors(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor div_tensors(const Tensor& a, const Tensor& b) { return div(a, b); }

Tensor scalar_like(const Scalar& s, const Tensor& self) {
  detail::check_defined("in-place op", self, "self");
  return detail::wrap_scalar(s, self.device());
}

Tensor scaled(const Tensor& other, const Scalar& alpha) {
  return alpha.to<double>() == 1.0 ? other : other * alpha;
}

}  // namespace

Tensor& Tensor::add_(const Tensor& other, const Scalar& alpha) {
  return inplace_binary("add_", *this, scaled(other, alpha), BinaryOp::Add, add_tensors);
}
Tensor& Tensor::add_(const Scalar& other) { return add_(scalar_like(other, *this)); }
Tensor& Tensor::sub_(const Tensor& other, const Scalar& alpha) {
  return inplace_binary("sub_", *this, scaled(other, alpha), BinaryOp::Sub, sub_tensors);
}
Tensor& Tensor::sub_(const Scalar& other) { return sub_(scalar_like(other, *this)); }
Tensor& Tensor::mul_(const Tensor& other) {
  return inplace_binary("mul_", *this, other, BinaryOp::Mul, mul_tensors);
}
Tensor& Tensor::mul_(const Scalar& other) { return mul_(scalar_like(other, *this)); }
Tensor& Tensor::div_(const Tensor& other) {
  return inplace_binary("div_", *this, other, BinaryOp::Div, div_tensors);
}
Tensor& Tensor::div_(const Scalar& other) { return div_(scalar_like(other, *this)); }

Tensor& Tensor::fill_(const Scalar& value) {
  check_writable("fill_", *this);
  if (involves_autograd(*this)) {
    assign_with_history("fill_", *this, full_like(*this, value));
    return *this;
  }
  detail::backend_of(*this).fill(*this, value);
  impl()->storage()->bump_version();
  return *this;
}

Tensor& Tensor::zero_() { return fill_(0); }

Tensor& Tensor::copy_(const Tensor& src) {
  check_writable("copy_", *this);
  detail::check_defined("copy_", src, "src");
  BG_CHECK(broadcast_shapes("copy_", sizes(), src.sizes()) == sizes(), "copy_", "the source ",
           describe(src), " cannot be broadcast to the shape of ", describe(*this));
  if (involves_autograd(*this, src)) {
    Tensor source = src.to(dtype()).to(device()).expand(sizes());
    // The source may still be a view of this tensor's memory (y.copy_(y.t())).
    if (detail::shares_storage(source, *this)) source = source.clone();
    assign_with_history("copy_", *this, source);
    return *this;
  }
  Tensor source = src;
  if (source.device() == device() && detail::shares_storage(source, *this) &&
      !source.is_same(*this)) {
    source = source.clone();  // overlapping memory: read everything before writing
  }
  const Device kernel_device = device().is_cpu() ? source.device() : device();
  backend(kernel_device.type).copy(*this, detail::broadcast_to(source, sizes()));
  impl()->storage()->bump_version();
  return *this;
}

Tensor& Tensor::clamp_(std::optional<Scalar> min, std::optional<Scalar> max) {
  check_writable("clamp_", *this);
  if (involves_autograd(*this)) {
    assign_with_history("clamp_", *this, clone().clamp(min, max));
    return *this;
  }
  return copy_(bg::clamp(*this, min, max));
}

namespace {
Tensor& random_fill(const char* op, Tensor& self, RandomOp kind, double a, double b,
                    Generator* gen) {
  check_writable(op, self);
  BG_CHECK(self.is_floating_point(), op, "expected a float32 or float64 tensor, got ",
           describe(self));
  Tensor drawn = detail::empty_tensor(op, self.sizes(), self.dtype(), self.device());
  detail::fill_random(kind, drawn, gen, a, b);
  if (involves_autograd(self)) {
    assign_with_history(op, self, drawn);
  } else {
    detail::backend_of(self).copy(self, drawn);
    self.impl()->storage()->bump_version();
  }
  return self;
}
}  // namespace

Tensor& Tensor::uniform_(double low, double high, Generator* generator) {
  BG_CHECK(low <= high, "uniform_", "expected low <= high, got [", low, ", ", high, ")");
  return random_fill("uniform_", *this, RandomOp::Uniform, low, high, generator);
}

Tensor& Tensor::normal_(double mean, double std, Generator* generator) {
  BG_CHECK(std >= 0, "normal_", "expected std >= 0, got ", std);
  return random_fill("normal_", *this, RandomOp::Normal, mean, std, generator);
}

}  // namespace bg
