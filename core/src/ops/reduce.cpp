// Reductions, softmax and their derivatives.

#include <cmath>
#include <limits>

#include "bg/core/autograd/node.h"
#include "bg/core/grad_mode.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

using autograd::Context;
using autograd::Grads;

namespace {

// The kernel part of a reduction: `x` reduced over `dims` (normalized, sorted) in `dtype`.
Tensor reduce_kernel(ReduceOp op, const char* name, const Tensor& x, const Shape& dims,
                     bool keepdim, Dtype dtype) {
  if (dims.empty()) {  // a 0-dim input: the result is a copy
    Tensor out = detail::empty_tensor(name, x.sizes(), dtype, x.device());
    detail::backend_of(x).copy(out, x);
    return out;
  }
  const Tensor in = detail::cast(x, dtype);
  Tensor out =
      detail::empty_tensor(name, detail::reduced_shape(x.sizes(), dims, true), dtype, x.device());
  detail::backend_of(x).reduce(op, out, in, dims);
  if (keepdim) return out;
  return detail::alias(out, detail::reduced_shape(x.sizes(), dims, false),
                       contiguous_strides(detail::reduced_shape(x.sizes(), dims, false)), 0);
}

// A gradient of a reduced result, shaped to broadcast against the input again.
Tensor unreduce(const Tensor& g, const Shape& dims, bool keepdim) {
  return keepdim ? g : detail::unsqueeze_dims(g, dims);
}

int64_t count_over(const Tensor& x, const Shape& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= x.size(d);
  return n;
}

// max and min: the gradient goes to the elements equal to the result, shared evenly on ties.
Tensor extremum(ReduceOp op, const char* name, const char* backward_name, const Tensor& x,
                const Dims& dims, bool keepdim) {
  detail::check_defined(name, x);
  const Shape d = normalize_dims(name, dims, x.dim());
  for (int64_t dim : d) {
    BG_CHECK(x.size(dim) > 0, name, "cannot reduce over dim ", dim, " of size 0 of ", describe(x));
  }
  if (x.dtype() == kBool)
    return detail::cast(extremum(op, name, backward_name, x.to(kInt64), dims, keepdim), kBool);
  Tensor out = reduce_kernel(op, name, x, d, keepdim, x.dtype());
  autograd::record(out, backward_name, {x}, {x}, true,
                   [d, keepdim](const Context& c, const Tensor& g) -> Grads {
                     const Tensor input = c.saved(0);
                     const Tensor hit = (input == unreduce(c.output(), d, keepdim)).to(g.dtype());
                     return {unreduce(g, d, keepdim) * hit / hit.sum(d, true)};
                   });
  return out;
}

Tensor softmax_impl(const char* name, const Tensor& x, int64_t dim, bool log) {
  detail::check_defined(name, x);
  BG_CHECK(x.is_floating_point(), name, "expected a float32 or float64 tensor, got ", describe(x));
  const int64_t d = normalize_dim(name, dim, x.dim());
  Tensor out = detail::empty_tensor(name, x.sizes(), x.dtype(), x.device());
  // An empty input has an empty result (a slice along an empty dim has no maximum to subtract).
  if (x.numel() > 0) detail::backend_of(x).softmax(out, x, d, log);
  if (log) {
    // d log_softmax: g - softmax * sum(g)
    autograd::record(out, "LogSoftmaxBackward", {x}, {}, true,
                     [d](const Context& c, const Tensor& g) -> Grads {
                       return {g - c.output().exp() * g.sum(d, true)};
                     });
  } else {
    autograd::record(out, "SoftmaxBackward", {x}, {}, true,
                     [d](const Context& c, const Tensor& g) -> Grads {
                       return {detail::softmax_backward(g, c.output(), d)};
                     });
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
  detail::check_defined("sum", x);
  const Shape d = normalize_dims("sum", dims, x.dim());
  // Integers and bools are summed as int64, as in PyTorch.
  Tensor out = reduce_kernel(ReduceOp::Sum, "sum", x, d, keepdim,
                             x.is_floating_point() ? x.dtype() : kInt64);
  autograd::record(out, "SumBackward", {x}, {}, false,
                   [d, keepdim, in = x.sizes()](const Context&, const Tensor& g) -> Grads {
                     return {unreduce(g, d, keepdim).expand(in)};
                   });
  return out;
}

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  detail::check_defined("mean", x);
  BG_CHECK(x.is_floating_point(), "mean", "expected a float32 or float64 tensor, got ", describe(x),
           "; convert it with .to(bg::kFloat32)");
  const Shape d = normalize_dims("mean", dims, x.dim());
  return sum(x, dims, keepdim) / static_cast<double>(count_over(x, d));
}

Tensor prod(const Tensor& x, const Dims& dims, bool keepdim) {
  detail::check_defined("prod", x);
  const Shape d = normalize_dims("prod", dims, x.dim());
  Tensor out = reduce_kernel(ReduceOp::Prod, "prod", x, d, keepdim,
                             x.is_floating_point() ? x.dtype() : kInt64);
  // d prod / dx_i = product of the others. With no zero that is prod / x_i; a single zero gets
  // the product of the rest; with two or more zeros every derivative is 0.
  autograd::record(
      out, "ProdBackward", {x}, {x}, true,
      [d, keepdim](const Context& c, const Tensor& g) -> Grads {
        const Tensor input = c.saved(0);
        const Tensor is_zero = input == 0;
        // 1 at the zeros: keeps the branches of the wheres below finite, and their unselected
        // derivatives (double backward) free of 0/0 = NaN.
        const Tensor safe_input = where(is_zero, 1.0, input);
        const Tensor others_nonzero = safe_input.prod(d, true);
        const Tensor zeros_count = is_zero.sum(d, true);
        // With two zeros, the derivative at a zero is the other zero times the rest: 0, but
        // written as that product so that double backward gets its derivative by the other zero
        // (the rest) right. The other zero is the slice's sum of zeros minus this one.
        const Tensor other_zero = where(is_zero, input, 0.0).sum(d, true) - input;
        const Tensor at_zero = where(zeros_count == 1, others_nonzero,
                                     where(zeros_count == 2, other_zero * others_nonzero, 0.0));
        const Tensor grad = where(is_zero, at_zero, unreduce(c.output(), d, keepdim) / safe_input);
        return {unreduce(g, d, keepdim) * grad};
      });
  return out;
}

Tensor max(const Tensor& x, const Dims& dims, bool keepdim) {
  return extremum(ReduceOp::Max, "max", "MaxBackward", x, dims, keepdim);
}
Tensor min(const Tensor& x, const Dims& dims, bool keepdim) {
  return extremum(ReduceOp::Min, "min", "MinBackward", x, dims, keepdim);
}

namespace {
Tensor arg_extremum(ArgReduceOp op, const char* name, const Tensor& x, std::optional<int64_t> dim,
                    bool keepdim) {
  detail::check_defined(name, x);
  if (!dim) {
    BG_CHECK(x.numel() > 0, name, "cannot take the ", name, " of an empty tensor ", describe(x));
    return arg_extremum(op, name, x.reshape({-1}), 0, false);
  }
  const int64_t d = normalize_dim(name, *dim, x.dim());
  if (x.dim() == 0) return zeros({}, TensorOptions(kInt64).device(x.device()));
  BG_CHECK(x.size(d) > 0, name, "cannot reduce over dim ", d, " of size 0 of ", describe(x));
  const Tensor in = x.dtype() == kBool ? detail::cast(x, kInt64) : x;
  Tensor out =
      detail::empty_tensor(name, detail::reduced_shape(x.sizes(), {d}, true), kInt64, x.device());
  detail::backend_of(x).arg_reduce(op, out, in, d);
  return keepdim ? out : out.squeeze(d);
}
}  // namespace

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extremum(ArgReduceOp::Argmax, "argmax", x, dim, keepdim);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extremum(ArgReduceOp::Argmin, "argmin", x, dim, keepdim);
}

namespace {
// The variance, with errors reported under `name` (var or std).
Tensor variance(const char* name, const Tensor& x, const Dims& dims, int64_t correction,
                bool keepdim) {
  detail::check_defined(name, x);
  detail::check_floating(name, x);
  const Shape d = normalize_dims(name, dims, x.dim());
  const Tensor centered = x - x.mean(dims, true);
  // PyTorch's divisor: never negative, so a correction past N gives inf (0/0 = NaN for a constant
  // or empty row) rather than a negative variance.
  const auto n = static_cast<double>(std::max<int64_t>(count_over(x, d) - correction, 0));
  return (centered * centered).sum(dims, keepdim) / n;
}
}  // namespace

Tensor var(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim) {
  return variance("var", x, dims, correction, keepdim);
}

Tensor std(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim) {
  const Tensor v = variance("std", x, dims, correction, keepdim);
  Tensor out = v.detach().sqrt();
  // sqrt's gradient g / (2 sqrt(v)), taken as 0 where the std is 0 (as PyTorch): there the
  // variance's own gradient is 0 too, and 0 * inf would be NaN.
  autograd::record(out, "StdBackward", {v}, {}, true,
                   [](const Context& c, const Tensor& g) -> Grads {
                     const Tensor s = c.output();
                     return {where(s == 0, 0.0, g / (s * 2))};
                   });
  return out;
}

Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  detail::check_defined("logsumexp", x);
  detail::check_floating("logsumexp", x);
  const Shape d = normalize_dims("logsumexp", dims, x.dim());
  // Subtracting the max keeps exp from overflowing; a max of +-inf is replaced by 0 so that
  // all -inf gives -inf (log 0) instead of NaN. The shift cancels out, so it needs no gradient.
  Tensor shift = x.numel() > 0 ? x.max(dims, true).detach() : zeros({}, x.options());
  shift = where(shift.abs() == std::numeric_limits<double>::infinity(), 0.0, shift);
  Tensor out = (x - shift).exp().sum(dims, true).log() + shift;
  if (keepdim) return out;
  return out.reshape(detail::reduced_shape(x.sizes(), d, false));
}

Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
  detail::check_defined("norm", x);
  detail::check_floating("norm", x);
  if (std::isinf(p)) return p > 0 ? x.abs().max(dims, keepdim) : x.abs().min(dims, keepdim);
  if (p == 1.0) return x.abs().sum(dims, keepdim);
  if (p == 0.0) return (x != 0).to(x.dtype()).sum(dims, keepdim);
  const Shape d = normalize_dims("norm", dims, x.dim());
  Tensor out;
  {
    NoGradGuard no_grad;
    out = x.abs().pow(p).sum(dims, keepdim).pow(1.0 / p);
  }
  // d ||x||_p / dx = sign(x) |x|^(p-1) / ||x||^(p-1), taken as 0 where the norm is 0. (Not
  // x |x|^(p-2): for p < 2 that is 0 * inf = NaN at x = 0, where the limit is 0.)
  autograd::record(out, "NormBackward", {x}, {x}, true,
                   [p, d, keepdim](const Context& c, const Tensor& g) -> Grads {
                     const Tensor input = c.saved(0);
                     const Tensor n = unreduce(c.output(), d, keepdim);
                     const Tensor scale = input.sign() * input.abs().pow(p - 1) / n.pow(p - 1);
                     return {unreduce(g, d, keepdim) * where(n == 0, 0.0, scale)};
                   });
  return out;
}

namespace detail {

Tensor softmax_backward(const Tensor& grad, const Tensor& output, int64_t dim) {
  TransformerKernels* kernels = backend_of(output).transformer_kernels();
  if (GradMode::is_enabled() || kernels == nullptr || dim != output.dim() - 1 ||
      output.numel() == 0) {
    return output * (grad - (grad * output).sum(dim, true));  // d softmax: y (g - sum(g y))
  }
  const Tensor y = output.is_contiguous() ? output : output.contiguous();
  const Tensor g = grad.is_contiguous() ? grad : grad.contiguous();
  Tensor grad_input =
      empty_tensor("softmax_backward", output.sizes(), output.dtype(), output.device());
  kernels->softmax_backward(grad_input, g, y);
  return grad_input;
}

}  // namespace detail

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) {
  return softmax_impl("log_softmax", x, dim, true);
}

Tensor sum_to(const Tensor& x, const Shape& sizes) {
  detail::check_defined("sum_to", x);
  if (x.sizes() == sizes) return x;
  BG_CHECK(x.dim() >= static_cast<int64_t>(sizes.size()), "sum_to", "cannot sum ", describe(x),
           " down to the larger shape ", shape_str(sizes));
  const size_t lead = x.sizes().size() - sizes.size();
  Shape dims;
  for (size_t i = 0; i < x.sizes().size(); ++i) {
    if (i < lead) {
      dims.push_back(static_cast<int64_t>(i));
      continue;
    }
    const int64_t want = sizes[i - lead];
    BG_CHECK(want == x.sizes()[i] || want == 1, "sum_to", "cannot sum ", describe(x), " down to ",
             shape_str(sizes), " (dim ", i, ")");
    if (want == 1 && x.sizes()[i] != 1) dims.push_back(static_cast<int64_t>(i));
  }
  const Tensor summed = dims.empty() ? x : x.sum(dims, true);
  return summed.reshape(sizes);
}

}  // namespace bg
