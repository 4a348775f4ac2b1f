// Convolution frontends: argument checks, PyTorch's output sizes, autograd. The windows and the
// im2col/col2im primitives are shared with pooling (sliding_window.h).
//
// Note [Convolution as unfold + GEMM]
// conv2d gathers every window of the input into a column (im2col) and applies all the filters
// with one matrix product: out[:, n, l] = weight [C_out, C_in kh kw] @ columns[:, n, l]. The
// columns are laid out in memory as [C_in kh kw, N, L] (the batch inside), so the product is one
// large GEMM over all N * L windows rather than N small ones, and so is the weight gradient in the
// backward pass, whose inner dimension runs over every window of the batch. The product comes out
// [C_out, N, L] and is copied once into the usual [N, C_out, L]. A bias is one more column of the
// weight, against a row of ones appended to the columns: it is added inside the product, and its
// gradient comes out of the weight gradient's product rather than a separate sum over the batch
// and the image. Groups make it a batched product over the groups (with the bias added after).
// unfold's backward is fold and fold's backward is unfold, so the derivatives with respect to the
// input come from autograd through the two.

#include "bg/core/conv.h"

#include <string>

#include "bg/core/ops.h"
#include "ops/op_utils.h"
#include "ops/sliding_window.h"

namespace bg {

using detail::as_image;
using detail::Axis;
using detail::col2im;
using detail::from_image;
using detail::im2col;
using detail::Layout;
using detail::Op;
using detail::Window2d;

namespace {

// The windows of a convolution (or unfold) over `image`: throws when the padded input is smaller
// than the dilated kernel.
Window2d conv_window(const Op& op, const Tensor& image, const Tensor& input) {
  const int64_t H = image.size(2), W = image.size(3);
  BG_CHECK(H + 2 * op.h.padding >= op.h.span() && W + 2 * op.w.padding >= op.w.span(), op.name,
           "the kernel ", op.dims(&Axis::kernel), " (dilation ", op.dims(&Axis::dilation),
           ") is larger than the input ", describe(input), " padded to ",
           op.dims(H + 2 * op.h.padding, W + 2 * op.w.padding));
  return op.window(window_count(H, op.h), window_count(W, op.w));
}

// conv2d on checked images (Note [Convolution as unfold + GEMM]): x [N, C_in, H, W], weight
// [C_out, C_in / groups, kh, kw].
Tensor convolution(const Tensor& x, const Tensor& weight, const Tensor& bias,
                   const Window2d& window, int64_t groups) {
  const int64_t N = x.size(0), C_out = weight.size(0), L = window.out_h * window.out_w;
  const int64_t K = x.size(1) * window.kernel_h * window.kernel_w;
  Tensor product;  // [C_out, N L]
  if (bias.defined() && groups == 1) {
    const Tensor filters = cat({weight.reshape({C_out, K}), bias.reshape({C_out, 1})}, 1);
    product = filters.mm(im2col(x, window, Layout::RowsWithOnes));
  } else {
    const Tensor rows = im2col(x, window, Layout::Rows).view({groups, K / groups, N * L});
    product = weight.reshape({groups, C_out / groups, K / groups}).bmm(rows).view({C_out, N * L});
    if (bias.defined()) product = product + bias.reshape({C_out, 1});
  }
  return product.view({C_out, N, L})
      .permute({1, 0, 2})
      .contiguous()
      .view({N, C_out, window.out_h, window.out_w});
}

// Checks what conv2d, conv1d and conv_transpose2d share: operands, groups, channels and bias.
// `image` is the input as as_image gave it; the weight is [C_out, C_in / groups, k...] or, when
// transposed, [C_in, C_out / groups, k...]. Returns C_out.
int64_t check_conv_operands(const Op& op, const Tensor& input, const Tensor& image,
                            const Tensor& weight, const Tensor& bias, int64_t groups,
                            bool transposed) {
  detail::check_same_device(op.name, input, weight);
  detail::check_floating(op.name, input);
  BG_CHECK(weight.dtype() == input.dtype(), op.name, "the input ", describe(input),
           " and the weight ", describe(weight), " must have the same dtype");
  const char* layout =
      transposed
          ? (op.spatial == 1 ? "[C_in, C_out / groups, k]" : "[C_in, C_out / groups, kH, kW]")
          : (op.spatial == 1 ? "[C_out, C_in / groups, k]" : "[C_out, C_in / groups, kH, kW]");
  BG_CHECK(weight.dim() == op.spatial + 2, op.name, "expected a ", op.spatial + 2, "-d weight ",
           layout, ", got ", describe(weight));
  BG_CHECK(groups > 0, op.name, "groups must be positive, got ", groups);
  const int64_t channels = image.size(1);
  int64_t out_channels = 0;
  if (transposed) {
    BG_CHECK(channels == weight.size(0), op.name, "the input ", describe(input), " has ", channels,
             " channels, but the weight ", describe(weight), " expects ", weight.size(0));
    BG_CHECK(channels % groups == 0, op.name, "in_channels = ", channels,
             " is not divisible by groups = ", groups);
    out_channels = weight.size(1) * groups;
  } else {
    BG_CHECK(weight.size(0) % groups == 0, op.name, "out_channels = ", weight.size(0), " (weight ",
             describe(weight), ") is not divisible by groups = ", groups);
    BG_CHECK(channels == weight.size(1) * groups, op.name, "the input ", describe(input), " has ",
             channels, " channels, but the weight ", describe(weight), " with groups = ", groups,
             " expects ", weight.size(1) * groups);
    out_channels = weight.size(0);
  }
  BG_CHECK(out_channels > 0, op.name, "the weight ", describe(weight), " ", layout,
           " has no output channel (PyTorch refuses it too)");
  if (bias.defined()) {
    detail::check_same_device(op.name, input, bias);
    BG_CHECK(bias.dim() == 1 && bias.size(0) == out_channels && bias.dtype() == input.dtype(),
             op.name, "expected a bias of shape [", out_channels, "] and the input's dtype ",
             dtype_name(input.dtype()), ", got ", describe(bias));
  }
  return out_channels;
}

// conv2d and conv1d once the op is described.
Tensor conv(const Op& op, const Tensor& input, const Tensor& weight, const Tensor& bias,
            int64_t groups) {
  const Tensor image = as_image(op, input);
  check_conv_operands(op, input, image, weight, bias, groups, false);
  op.check_axes();
  const Tensor filters = op.spatial == 1 ? weight.unsqueeze(2) : weight;
  return from_image(op, convolution(image, filters, bias, conv_window(op, image, input), groups),
                    input);
}

}  // namespace

// ---- Public ops ---------------------------------------------------------------------------------

Tensor unfold(const Tensor& input, Size2 kernel, Size2 dilation, Size2 padding, Size2 stride) {
  const Op op("unfold", 2, kernel, stride, padding, dilation);
  const Tensor image = as_image(op, input);
  detail::check_floating(op.name, input);
  op.check_axes();
  const Tensor columns = im2col(image, conv_window(op, image, input), Layout::Columns);
  return input.dim() == 3 ? columns.squeeze(0) : columns;
}

Tensor fold(const Tensor& columns, Size2 output_size, Size2 kernel, Size2 dilation, Size2 padding,
            Size2 stride) {
  const Op op("fold", 2, kernel, stride, padding, dilation);
  detail::check_defined(op.name, columns);
  detail::check_floating(op.name, columns);
  BG_CHECK(columns.dim() == 2 || columns.dim() == 3, op.name,
           "expected columns [C * kH * kW, L] (unbatched) or [N, C * kH * kW, L], got ",
           describe(columns));
  op.check_axes();
  BG_CHECK(output_size.h > 0 && output_size.w > 0, op.name,
           "the output size must be positive, got ", op.dims(output_size.h, output_size.w));
  const Tensor batched = columns.dim() == 2 ? columns.unsqueeze(0) : columns;
  const int64_t taps = kernel.h * kernel.w;
  BG_CHECK(batched.size(1) % taps == 0, op.name, "the columns ", describe(columns), " have ",
           batched.size(1), " rows, not a multiple of the kernel's ", kernel.h, " * ", kernel.w,
           " = ", taps, " taps");
  const int64_t out_h = window_count(output_size.h, op.h),
                out_w = window_count(output_size.w, op.w);
  BG_CHECK(out_h > 0 && out_w > 0 && batched.size(2) == out_h * out_w, op.name, "the columns ",
           describe(columns), " hold ", batched.size(2), " windows, but an output of size ",
           op.dims(output_size.h, output_size.w), " with kernel ", op.dims(&Axis::kernel),
           ", dilation ", op.dims(&Axis::dilation), ", padding ", op.dims(&Axis::padding),
           " and stride ", op.dims(&Axis::stride), " has ", op.dims(out_h, out_w), " windows");
  const Tensor image = col2im(batched, output_size.h, output_size.w, op.window(out_h, out_w));
  return columns.dim() == 2 ? image.squeeze(0) : image;
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride,
              Size2 padding, Size2 dilation, int64_t groups) {
  detail::check_defined("conv2d", weight, "weight");
  BG_CHECK(weight.dim() == 4, "conv2d",
           "expected a 4-d weight [C_out, C_in / groups, kH, kW], got ", describe(weight));
  const Op op("conv2d", 2, Size2(weight.size(2), weight.size(3)), stride, padding, dilation);
  return conv(op, input, weight, bias, groups);
}

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding, int64_t dilation, int64_t groups) {
  detail::check_defined("conv1d", weight, "weight");
  BG_CHECK(weight.dim() == 3, "conv1d", "expected a 3-d weight [C_out, C_in / groups, k], got ",
           describe(weight));
  const Op op("conv1d", 1, Size2(1, weight.size(2)), Size2(1, stride), Size2(0, padding),
              Size2(1, dilation));
  return conv(op, input, weight, bias, groups);
}

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride,
                        Size2 padding, Size2 output_padding, int64_t groups, Size2 dilation) {
  detail::check_defined("conv_transpose2d", weight, "weight");
  BG_CHECK(weight.dim() == 4, "conv_transpose2d",
           "expected a 4-d weight [C_in, C_out / groups, kH, kW], got ", describe(weight));
  const Op op("conv_transpose2d", 2, Size2(weight.size(2), weight.size(3)), stride, padding,
              dilation);
  const Tensor x = as_image(op, input);
  const int64_t C_out = check_conv_operands(op, input, x, weight, bias, groups, true);
  op.check_axes();
  const Size2& extra = output_padding;
  BG_CHECK(extra.h >= 0 && extra.w >= 0, op.name, "the output padding must be non-negative, got ",
           op.dims(extra.h, extra.w));
  BG_CHECK((extra.h < op.h.stride || extra.h < op.h.dilation) &&
               (extra.w < op.w.stride || extra.w < op.w.dilation),
           op.name, "the output padding ", op.dims(extra.h, extra.w),
           " must be smaller than the stride ", op.dims(&Axis::stride), " or the dilation ",
           op.dims(&Axis::dilation));
  // The size of the input of the convolution this transposes (the one whose windows are x's
  // positions).
  const int64_t H = x.size(2), W = x.size(3);
  const int64_t out_h = (H - 1) * op.h.stride - 2 * op.h.padding + op.h.span() + extra.h;
  const int64_t out_w = (W - 1) * op.w.stride - 2 * op.w.padding + op.w.span() + extra.w;
  BG_CHECK(out_h > 0 && out_w > 0, op.name, "the input ", describe(input), " with stride ",
           op.dims(&Axis::stride), " and padding ", op.dims(&Axis::padding),
           " gives a non-positive output size ", op.dims(out_h, out_w));
  // columns[n, g] = weight_g^T @ x_g[n], then fold sums them into the output image; the windows
  // are the input's H x W positions.
  const int64_t N = x.size(0), C_in = x.size(1), taps = op.h.kernel * op.w.kernel;
  const Tensor weight_t =
      weight.reshape({groups, C_in / groups, C_out / groups * taps}).transpose(1, 2);
  const Tensor columns = weight_t.matmul(x.reshape({N, groups, C_in / groups, H * W}))
                             .reshape({N, C_out * taps, H * W});
  const Tensor out = col2im(columns, out_h, out_w, op.window(H, W));
  return from_image(op, bias.defined() ? out + bias.reshape({C_out, 1, 1}) : out, input);
}

}  // namespace bg
