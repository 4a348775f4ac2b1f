// Binary elementwise ops (arithmetic, comparison, where) and their derivatives.
//
// Formulas return gradients in the broadcast shape of the output; the engine sums them down to
// each input's shape (Note [Broadcast backward]).

#include <cmath>

#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

using autograd::Context;
using autograd::Grads;

namespace {

// op(a, b) broadcast, with both operands converted to `compute`; the result has `out_dtype`.
Tensor binary_kernel(BinaryOp op, const char* name, const Tensor& a, const Tensor& b, Dtype compute,
                     Dtype out_dtype) {
  detail::check_same_device(name, a, b);
  const Shape shape = broadcast_shapes(name, a.sizes(), b.sizes());
  Tensor out = detail::empty_tensor(name, shape, out_dtype, a.device());
  detail::backend_of(a).binary(op, out, detail::broadcast_to(detail::cast(a, compute), shape),
                               detail::broadcast_to(detail::cast(b, compute), shape));
  return out;
}

// Arithmetic in the promoted dtype. On bools, + is "or" and * is "and", as in PyTorch.
Tensor arithmetic(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  detail::check_same_device(name, a, b);
  const Dtype dtype = detail::result_type(a, b);
  if (dtype == kBool) {
    BG_CHECK(op == BinaryOp::Add || op == BinaryOp::Mul || op == BinaryOp::Maximum ||
                 op == BinaryOp::Minimum,
             name, "not defined for bool tensors (", describe(a), " and ", describe(b),
             "); convert with .to(bg::kInt64) first");
    const bool is_or = op == BinaryOp::Add || op == BinaryOp::Maximum;
    return binary_kernel(is_or ? BinaryOp::LogicalOr : BinaryOp::LogicalAnd, name, a, b, kBool,
                         kBool);
  }
  return binary_kernel(op, name, a, b, dtype, dtype);
}

Tensor comparison(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  detail::check_same_device(name, a, b);
  return binary_kernel(op, name, a, b, detail::result_type(a, b), kBool);
}

// A number operand on `like`'s device. An undefined `like` gives an undefined operand, so that the
// op itself reports it under its own name.
Tensor wrap(const Scalar& s, const Tensor& like) {
  if (!like.defined()) return Tensor();
  return detail::wrap_scalar(s, like.device());
}

Tensor add_impl(const Tensor& a, const Tensor& b) {
  Tensor out = arithmetic(BinaryOp::Add, "add", a, b);
  autograd::record(out, "AddBackward", {a, b}, {}, false,
                   [](const Context&, const Tensor& g) -> Grads {
                     return {g, g};
                   });
  return out;
}

Tensor sub_impl(const Tensor& a, const Tensor& b) {
  detail::check_same_device("sub", a, b);
  BG_CHECK(a.dtype() != kBool || b.dtype() != kBool, "sub",
           "subtracting bool tensors is not supported; use logical_xor-style logic or convert "
           "with .to(bg::kInt64)");
  Tensor out = arithmetic(BinaryOp::Sub, "sub", a, b);
  autograd::record(out, "SubBackward", {a, b}, {}, false,
                   [](const Context& c, const Tensor& g) -> Grads {
                     return {g, c.needs_grad(1) ? -g : Tensor()};
                   });
  return out;
}

// maximum/minimum send the gradient to the larger (smaller) operand, half to each on ties.
Tensor extremum(BinaryOp op, const char* name, const char* backward_name, const Tensor& a,
                const Tensor& b) {
  Tensor out = arithmetic(op, name, a, b);
  const bool is_max = op == BinaryOp::Maximum;
  autograd::record(out, backward_name, {a, b}, {a, b}, false,
                   [is_max](const Context& c, const Tensor& g) -> Grads {
                     const Tensor x = c.saved(0), y = c.saved(1);
                     const Tensor tie = (x == y).to(g.dtype()) * 0.5;
                     const Tensor x_wins = (is_max ? x > y : x < y).to(g.dtype()) + tie;
                     return {g * x_wins, g * (1 - x_wins)};
                   });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  return alpha.to<double>() == 1.0 ? add_impl(a, b) : add_impl(a, b * alpha);
}

Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  return alpha.to<double>() == 1.0 ? sub_impl(a, b) : sub_impl(a, b * alpha);
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = arithmetic(BinaryOp::Mul, "mul", a, b);
  // d(ab)/da = b, d(ab)/db = a
  autograd::record(out, "MulBackward", {a, b}, {a, b}, false,
                   [](const Context& c, const Tensor& g) -> Grads {
                     return {c.needs_grad(0) ? g * c.saved(1) : Tensor(),
                             c.needs_grad(1) ? g * c.saved(0) : Tensor()};
                   });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  detail::check_same_device("div", a, b);
  const Dtype dtype = detail::floating_result(detail::result_type(a, b));
  Tensor out = binary_kernel(BinaryOp::Div, "div", a, b, dtype, dtype);
  // d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
  autograd::record(out, "DivBackward", {a, b}, {a, b}, false,
                   [](const Context& c, const Tensor& g) -> Grads {
                     const Tensor y = c.saved(1);
                     return {c.needs_grad(0) ? g / y : Tensor(),
                             c.needs_grad(1) ? -g * c.saved(0) / (y * y) : Tensor()};
                   });
  return out;
}

Tensor pow(const Tensor& base, const Tensor& exponent) {
  Tensor out = arithmetic(BinaryOp::Pow, "pow", base, exponent);
  // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log(a), taken as 0 where a = 0 and b >= 0.
  autograd::record(out, "PowBackward", {base, exponent}, {base, exponent}, true,
                   [](const Context& c, const Tensor& g) -> Grads {
                     const Tensor a = c.saved(0), b = c.saved(1);
                     Tensor ga, gb;
                     if (c.needs_grad(0)) ga = g * b * a.pow(b - 1);
                     if (c.needs_grad(1)) {
                       gb = where(logical_and(a == 0, b >= 0), 0.0, g * c.output() * a.log());
                     }
                     return {ga, gb};
                   });
  return out;
}

Tensor pow(const Scalar& base, const Tensor& exponent) {
  return pow(wrap(base, exponent), exponent);
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  return extremum(BinaryOp::Maximum, "maximum", "MaximumBackward", a, b);
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return extremum(BinaryOp::Minimum, "minimum", "MinimumBackward", a, b);
}

Tensor eq(const Tensor& a, const Tensor& b) { return comparison(BinaryOp::Eq, "eq", a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return comparison(BinaryOp::Ne, "ne", a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return comparison(BinaryOp::Lt, "lt", a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return comparison(BinaryOp::Le, "le", a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return comparison(BinaryOp::Gt, "gt", a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return comparison(BinaryOp::Ge, "ge", a, b); }
Tensor isnan(const Tensor& a) { return ne(a, a); }

Tensor logical_and(const Tensor& a, const Tensor& b) {
  detail::check_same_device("logical_and", a, b);
  return binary_kernel(BinaryOp::LogicalAnd, "logical_and", a.dtype() == kBool ? a : a != 0,
                       b.dtype() == kBool ? b : b != 0, kBool, kBool);
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  detail::check_same_device("logical_or", a, b);
  return binary_kernel(BinaryOp::LogicalOr, "logical_or", a.dtype() == kBool ? a : a != 0,
                       b.dtype() == kBool ? b : b != 0, kBool, kBool);
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  detail::check_same_device("where", cond, a);
  detail::check_same_device("where", a, b);
  BG_CHECK(cond.dtype() == kBool, "where", "the condition must be a bool tensor, got ",
           describe(cond));
  const Dtype dtype = detail::result_type(a, b);
  const Shape shape =
      broadcast_shapes("where", cond.sizes(), broadcast_shapes("where", a.sizes(), b.sizes()));
  Tensor out = detail::empty_tensor("where", shape, dtype, a.device());
  detail::backend_of(a).where(out, detail::broadcast_to(cond, shape),
                              detail::broadcast_to(detail::cast(a, dtype), shape),
                              detail::broadcast_to(detail::cast(b, dtype), shape));
  autograd::record(out, "WhereBackward", {a, b}, {cond}, false,
                   [](const Context& c, const Tensor& g) -> Grads {
                     const Tensor chosen = c.saved(0);
                     return {c.needs_grad(0) ? where(chosen, g, 0.0) : Tensor(),
                             c.needs_grad(1) ? where(chosen, 0.0, g) : Tensor()};
                   });
  return out;
}
Tensor relu_backward(const Tensor& grad, const Tensor& output) {
  detail::check_defined("relu_backward", grad, "grad");
  detail::check_defined("relu_backward", output, "output");
  detail::check_same_device("relu_backward", grad, output);
  BG_CHECK(grad.is_floating_point() && grad.dtype() == output.dtype(), "relu_backward",
           "expected float32 or float64 tensors of one dtype, got grad ", describe(grad),
           " and output ", describe(output));
  Tensor out =
      binary_kernel(BinaryOp::ReluMask, "relu_backward", grad, output, grad.dtype(), grad.dtype());
  // The mask is piecewise constant in the output: only grad gets a gradient.
  autograd::record(
      out, "ReluBackwardBackward", {grad}, {output}, false,
      [](const Context& c, const Tensor& g) -> Grads { return {relu_backward(g, c.saved(0))}; });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b) {
  return where(cond, a, wrap(b, a));
}
Tensor where(const Tensor& cond, const Scalar& a, const Tensor& b) {
  return where(cond, wrap(a, b), b);
}

// ---- Operators ----------------------------------------------------------------------------------

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator+(const Tensor& a, const Scalar& b) { return add(a, wrap(b, a)); }
Tensor operator+(const Scalar& a, const Tensor& b) { return add(wrap(a, b), b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator-(const Tensor& a, const Scalar& b) { return sub(a, wrap(b, a)); }
Tensor operator-(const Scalar& a, const Tensor& b) { return sub(wrap(a, b), b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator*(const Tensor& a, const Scalar& b) { return mul(a, wrap(b, a)); }
Tensor operator*(const Scalar& a, const Tensor& b) { return mul(wrap(a, b), b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator/(const Tensor& a, const Scalar& b) { return div(a, wrap(b, a)); }
Tensor operator/(const Scalar& a, const Tensor& b) { return div(wrap(a, b), b); }
Tensor operator-(const Tensor& a) { return neg(a); }

Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator==(const Tensor& a, const Scalar& b) { return eq(a, wrap(b, a)); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator!=(const Tensor& a, const Scalar& b) { return ne(a, wrap(b, a)); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<(const Tensor& a, const Scalar& b) { return lt(a, wrap(b, a)); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator<=(const Tensor& a, const Scalar& b) { return le(a, wrap(b, a)); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>(const Tensor& a, const Scalar& b) { return gt(a, wrap(b, a)); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator>=(const Tensor& a, const Scalar& b) { return ge(a, wrap(b, a)); }

}  // namespace bg
