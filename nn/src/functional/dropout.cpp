// The dropout functions of nn::functional: elementwise, channel-wise (1-, 2- and 3-d feature maps)
// and alpha dropout, with PyTorch's formulas. Masks are drawn from the default generator.

#include <cmath>

#include "bg/nn/functional.h"

namespace bg::nn::functional {

namespace {

void check_dropout(const char* op, const Tensor& input, double p) {
  BG_CHECK(input.defined() && input.is_floating_point(), op,
           "expected a floating-point input, got ", describe(input));
  BG_CHECK(p >= 0.0 && p <= 1.0, op, "the dropout probability must be in [0, 1], got ", p);
}

// 1 with probability 1 - p, else 0, in `sizes` (broadcast against the input by the callers).
Tensor keep_mask(const Shape& sizes, double p, const Tensor& like) {
  return (rand(sizes, like.options()) < 1.0 - p).to(like.dtype());
}

// input times a mask of `mask_sizes` (broadcast against it) whose elements are 1 / (1 - p) with
// probability 1 - p and 0 otherwise.
Tensor apply_dropout_mask(const Tensor& input, const Shape& mask_sizes, double p, bool inplace) {
  const Tensor mask = dropout_mask(mask_sizes, p, input.options());
  if (!inplace) return input * mask;
  Tensor self = input;
  return self.mul_(mask);
}

// Dropout of whole channels of an input [N, C, spatial...] or [C, spatial...] with `spatial`
// spatial dims (`shapes` names them for messages): the mask has the input's sizes with the spatial
// dims set to 1.
Tensor channel_dropout(const char* op, const char* shapes, const Tensor& input, int64_t spatial,
                       double p, bool training, bool inplace) {
  check_dropout(op, input, p);
  BG_CHECK(input.dim() == spatial + 1 || input.dim() == spatial + 2, op, "expected an input ",
           shapes, ", got ", describe(input));
  if (!training || p == 0.0) return input;
  Shape mask_sizes = input.sizes();
  for (int64_t d = input.dim() - spatial; d < input.dim(); ++d) mask_sizes[d] = 1;
  return apply_dropout_mask(input, mask_sizes, p, inplace);
}

// Alpha dropout with a keep mask of `mask_sizes` (PyTorch's _dropout_impl with alpha_dropout).
Tensor apply_alpha_dropout(const Tensor& input, const Shape& mask_sizes, double p, bool inplace) {
  Tensor self = input;
  if (p == 1.0) return inplace ? self.mul_(0.0) : input * 0.0;
  // SELU's negative saturation value is -alpha' = -scale * alpha.
  constexpr double kAlpha = 1.7580993408473766;
  const double a = 1.0 / std::sqrt((kAlpha * kAlpha * p + 1.0) * (1.0 - p));
  const Tensor keep = keep_mask(mask_sizes, p, input);
  const Tensor shift = (keep - 1.0) * (kAlpha * a) + kAlpha * a * p;
  const Tensor scale = keep * a;
  if (!inplace) return input * scale + shift;
  return self.mul_(scale).add_(shift);
}

}  // namespace

Tensor dropout(const Tensor& input, double p, bool training, bool inplace) {
  check_dropout("dropout", input, p);
  if (!training || p == 0.0) return input;
  return apply_dropout_mask(input, input.sizes(), p, inplace);
}

Tensor dropout1d(const Tensor& input, double p, bool training, bool inplace) {
  return channel_dropout("dropout1d", "[N, C, L] or [C, L]", input, 1, p, training, inplace);
}

Tensor dropout2d(const Tensor& input, double p, bool training, bool inplace) {
  return channel_dropout("dropout2d", "[N, C, H, W] or [C, H, W]", input, 2, p, training, inplace);
}

Tensor dropout3d(const Tensor& input, double p, bool training, bool inplace) {
  return channel_dropout("dropout3d", "[N, C, D, H, W] or [C, D, H, W]", input, 3, p, training,
                         inplace);
}

Tensor alpha_dropout(const Tensor& input, double p, bool training, bool inplace) {
  check_dropout("alpha_dropout", input, p);
  if (!training || p == 0.0) return input;
  return apply_alpha_dropout(input, input.sizes(), p, inplace);
}

Tensor feature_alpha_dropout(const Tensor& input, double p, bool training, bool inplace) {
  check_dropout("feature_alpha_dropout", input, p);
  BG_CHECK(input.dim() >= 2, "feature_alpha_dropout",
           "expected an input [N, C, ...] of at least 2 dims, got ", describe(input));
  if (!training || p == 0.0) return input;
  Shape mask_sizes(static_cast<size_t>(input.dim()), 1);
  mask_sizes[0] = input.size(0);
  mask_sizes[1] = input.size(1);
  return apply_alpha_dropout(input, mask_sizes, p, inplace);
}

}  // namespace bg::nn::functional
