// Unary elementwise ops and their derivatives.

#include <cmath>
#include <limits>

#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

using autograd::Context;
using autograd::Grads;

namespace {

Tensor unary_kernel(UnaryOp op, const char* name, const Tensor& x, Dtype dtype,
                    UnaryParams params = {}) {
  detail::check_defined(name, x);
  Tensor out = detail::empty_tensor(name, x.sizes(), dtype, x.device());
  detail::backend_of(x).unary(op, out, detail::cast(x, dtype), params);
  return out;
}

// A floating-point op: int64 and bool inputs give float32, as in PyTorch.
Tensor floating_unary(UnaryOp op, const char* name, const Tensor& x, UnaryParams params = {}) {
  detail::check_defined(name, x);
  return unary_kernel(op, name, x, detail::floating_result(x.dtype()), params);
}

// An op that keeps integer dtypes (neg, abs, sign, clamp); bool has no such arithmetic.
Tensor signed_unary(UnaryOp op, const char* name, const Tensor& x, UnaryParams params = {}) {
  detail::check_defined(name, x);
  BG_CHECK(x.dtype() != kBool, name, "not defined for bool tensors (", describe(x),
           "); convert with .to(bg::kInt64) or use logical_not");
  return unary_kernel(op, name, x, x.dtype(), params);
}

constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

Tensor neg(const Tensor& x) {
  Tensor out = signed_unary(UnaryOp::Neg, "neg", x);
  autograd::record(out, "NegBackward", {x}, {}, false,
                   [](const Context&, const Tensor& g) -> Grads { return {-g}; });
  return out;
}

Tensor abs(const Tensor& x) {
  Tensor out = signed_unary(UnaryOp::Abs, "abs", x);
  // d|x|/dx = sign(x) (0 at 0, as in PyTorch).
  autograd::record(
      out, "AbsBackward", {x}, {x}, false,
      [](const Context& c, const Tensor& g) -> Grads { return {g * c.saved(0).sign()}; });
  return out;
}

Tensor sign(const Tensor& x) {
  Tensor out = signed_unary(UnaryOp::Sign, "sign", x);
  autograd::record(out, "SignBackward", {x}, {}, false,
                   [](const Context&, const Tensor& g) -> Grads { return {zeros_like(g)}; });
  return out;
}

Tensor exp(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Exp, "exp", x);
  autograd::record(out, "ExpBackward", {x}, {}, true,
                   [](const Context& c, const Tensor& g) -> Grads { return {g * c.output()}; });
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Log, "log", x);
  autograd::record(out, "LogBackward", {x}, {x}, false,
                   [](const Context& c, const Tensor& g) -> Grads { return {g / c.saved(0)}; });
  return out;
}

Tensor log1p(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Log1p, "log1p", x);
  autograd::record(
      out, "Log1pBackward", {x}, {x}, false,
      [](const Context& c, const Tensor& g) -> Grads { return {g / (c.saved(0) + 1)}; });
  return out;
}

Tensor expm1(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Expm1, "expm1", x);
  // d/dx (e^x - 1) = e^x = out + 1
  autograd::record(
      out, "Expm1Backward", {x}, {}, true,
      [](const Context& c, const Tensor& g) -> Grads { return {g * (c.output() + 1)}; });
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Sqrt, "sqrt", x);
  autograd::record(
      out, "SqrtBackward", {x}, {}, true,
      [](const Context& c, const Tensor& g) -> Grads { return {g / (2 * c.output())}; });
  return out;
}

Tensor rsqrt(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Rsqrt, "rsqrt", x);
  // d/dx x^(-1/2) = -1/2 x^(-3/2) = -1/2 out^3
  autograd::record(out, "RsqrtBackward", {x}, {}, true,
                   [](const Context& c, const Tensor& g) -> Grads {
                     const Tensor y = c.output();
                     return {g * y * y * y * -0.5};
                   });
  return out;
}

Tensor sin(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Sin, "sin", x);
  autograd::record(
      out, "SinBackward", {x}, {x}, false,
      [](const Context& c, const Tensor& g) -> Grads { return {g * c.saved(0).cos()}; });
  return out;
}

Tensor cos(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Cos, "cos", x);
  autograd::record(
      out, "CosBackward", {x}, {x}, false,
      [](const Context& c, const Tensor& g) -> Grads { return {-g * c.saved(0).sin()}; });
  return out;
}

Tensor tanh(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Tanh, "tanh", x);
  // d/dx tanh = 1 - tanh^2
  autograd::record(out, "TanhBackward", {x}, {}, true,
                   [](const Context& c, const Tensor& g) -> Grads {
                     const Tensor y = c.output();
                     return {g * (1 - y * y)};
                   });
  return out;
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Sigmoid, "sigmoid", x);
  // d/dx s = s (1 - s)
  autograd::record(out, "SigmoidBackward", {x}, {}, true,
                   [](const Context& c, const Tensor& g) -> Grads {
                     const Tensor y = c.output();
                     return {g * y * (1 - y)};
                   });
  return out;
}

Tensor erf(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Erf, "erf", x);
  // d/dx erf = 2/sqrt(pi) e^(-x^2)
  autograd::record(out, "ErfBackward", {x}, {x}, false,
                   [](const Context& c, const Tensor& g) -> Grads {
                     const Tensor v = c.saved(0);
                     return {g * (-(v * v)).exp() * M_2_SQRTPI};
                   });
  return out;
}

Tensor relu(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Relu, "relu", x);
  autograd::record(
      out, "ReluBackward", {x}, {}, true,
      [](const Context& c, const Tensor& g) -> Grads { return {relu_backward(g, c.output())}; });
  return out;
}

Tensor leaky_relu(const Tensor& x, double slope) {
  Tensor out = floating_unary(UnaryOp::LeakyRelu, "leaky_relu", x, {slope, 0.0});
  autograd::record(out, "LeakyReluBackward", {x}, {x}, false,
                   [slope](const Context& c, const Tensor& g) -> Grads {
                     return {where(c.saved(0) > 0, g, g * slope)};
                   });
  return out;
}

Tensor elu(const Tensor& x, double alpha) {
  Tensor out = floating_unary(UnaryOp::Elu, "elu", x, {alpha, 0.0});
  // For x <= 0, d/dx alpha (e^x - 1) = alpha e^x. (Not out + alpha: for very negative x, out is
  // close to -alpha and the sum loses the digits of e^x.) The exponent is clamped to 0, so that
  // the branch where() drops cannot overflow and make its second derivative NaN.
  autograd::record(out, "EluBackward", {x}, {x}, false,
                   [alpha](const Context& c, const Tensor& g) -> Grads {
                     const Tensor v = c.saved(0);
                     return {where(v > 0, g, g * (clamp(v, std::nullopt, 0.0).exp() * alpha))};
                   });
  return out;
}

Tensor gelu(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Gelu, "gelu", x);
  // d/dx x Phi(x) = Phi(x) + x phi(x). Below x = -1, Phi(x) = (1 + erf(x / sqrt 2)) / 2 would lose
  // its digits to the sum; there it is out / x, from the output (accurate in its tail). The
  // divisor is clamped to -1, so that the branch where() drops is never 0 / 0.
  autograd::record(out, "GeluBackward", {x}, {x}, true,
                   [](const Context& c, const Tensor& g) -> Grads {
                     const Tensor v = c.saved(0);
                     const Tensor tail = c.output() / clamp(v, std::nullopt, -1.0);
                     const Tensor cdf = where(v < -1, tail, ((v * M_SQRT1_2).erf() + 1) * 0.5);
                     const Tensor pdf = (v * v * -0.5).exp() * (M_2_SQRTPI * M_SQRT1_2 * 0.5);
                     return {g * (cdf + v * pdf)};
                   });
  return out;
}

Tensor silu(const Tensor& x) {
  Tensor out = floating_unary(UnaryOp::Silu, "silu", x);
  // d/dx x s(x) = s (1 + x (1 - s))
  autograd::record(out, "SiluBackward", {x}, {x}, false,
                   [](const Context& c, const Tensor& g) -> Grads {
                     const Tensor v = c.saved(0);
                     const Tensor s = v.sigmoid();
                     return {g * s * (1 + v * (1 - s))};
                   });
  return out;
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  BG_CHECK(beta > 0, "softplus", "beta must be positive, got ", beta);
  Tensor out = floating_unary(UnaryOp::Softplus, "softplus", x, {beta, threshold});
  // d/dx log(1 + e^(bx)) / b = sigmoid(bx); 1 above the threshold, where softplus is x itself.
  autograd::record(out, "SoftplusBackward", {x}, {x}, false,
                   [beta, threshold](const Context& c, const Tensor& g) -> Grads {
                     const Tensor bx = c.saved(0) * beta;
                     return {where(bx > threshold, g, g * bx.sigmoid())};
                   });
  return out;
}

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  detail::check_defined("clamp", x);
  BG_CHECK(min || max, "clamp", "at least one of min and max must be given");
  const bool floating_bound = (min && min->is_floating()) || (max && max->is_floating());
  const Dtype dtype = floating_bound ? detail::floating_result(x.dtype()) : x.dtype();
  const UnaryParams bounds{min ? min->to<double>() : -kInf, max ? max->to<double>() : kInf};
  Tensor out = signed_unary(UnaryOp::Clamp, "clamp", detail::cast(x, dtype), bounds);
  // The gradient passes where x lies inside [min, max] (bounds included, as in PyTorch).
  autograd::record(out, "ClampBackward", {x}, {x}, false,
                   [bounds](const Context& c, const Tensor& g) -> Grads {
                     const Tensor v = c.saved(0);
                     return {g * logical_and(v >= bounds.a, v <= bounds.b)};
                   });
  return out;
}

Tensor clamp_min(const Tensor& x, const Scalar& min) { return clamp(x, min, std::nullopt); }
Tensor clamp_max(const Tensor& x, const Scalar& max) { return clamp(x, std::nullopt, max); }

Tensor pow(const Tensor& base, const Scalar& exponent) {
  detail::check_defined("pow", base);
  if (!base.is_floating_point() && !exponent.is_floating()) {
    return pow(base, detail::wrap_scalar(exponent, base.device()));  // integer power
  }
  const double p = exponent.to<double>();
  Tensor out = floating_unary(UnaryOp::PowScalar, "pow", base, {p, 0.0});
  // d/dx x^p = p x^(p-1)
  autograd::record(out, "PowBackward", {base}, {base}, false,
                   [p](const Context& c, const Tensor& g) -> Grads {
                     if (p == 0.0) return {zeros_like(g)};
                     // x^1 is x: a square (a squared error's gradient) takes no pow kernel.
                     const Tensor x = c.saved(0);
                     return {g * (p == 2.0 ? x : x.pow(p - 1)) * p};
                   });
  return out;
}

Tensor logical_not(const Tensor& x) {
  detail::check_defined("logical_not", x);
  const Tensor as_bool = x.dtype() == kBool ? x : ne(x, detail::wrap_scalar(0, x.device()));
  return unary_kernel(UnaryOp::LogicalNot, "logical_not", as_bool, kBool);
}

}  // namespace bg
