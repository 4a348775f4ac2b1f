#pragma once
// Convolution: core ops with autograd, on tensors laid out [N, C, H, W] (2-d) or [N, C, L] (1-d),
// as in PyTorch. A missing batch dim ([C, H, W]) is accepted and kept missing. Pooling is in
// pooling.h.
//
// Convolutions run as im2col + GEMM: unfold() gathers every window of the input into a column,
// one matrix product applies all the filters at once, and fold() is unfold's adjoint (it sums
// columns back into an image), which is what the backward pass needs.

#include "bg/core/api.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg {

/// Two sizes, for height and width; a single number means both.
struct Size2 {
  Size2(int64_t both) : h(both), w(both) {}  // NOLINT: `stride = 2` reads well
  Size2(int64_t h, int64_t w) : h(h), w(w) {}
  int64_t h, w;
};

/// Columns [N, C * kh * kw, L] of every kh x kw window of `input` [N, C, H, W]; L is the number of
/// windows (PyTorch's F.unfold).
Tensor unfold(const Tensor& input, Size2 kernel, Size2 dilation = 1, Size2 padding = 0,
              Size2 stride = 1);
/// The adjoint of unfold: sums columns [N, C * kh * kw, L] into an image [N, C, H, W] of
/// `output_size` (PyTorch's F.fold).
Tensor fold(const Tensor& columns, Size2 output_size, Size2 kernel, Size2 dilation = 1,
            Size2 padding = 0, Size2 stride = 1);

/// 2-d convolution (cross-correlation, as in PyTorch): input [N, C_in, H, W], weight
/// [C_out, C_in / groups, kh, kw], optional bias [C_out].
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, Size2 stride = 1,
              Size2 padding = 0, Size2 dilation = 1, int64_t groups = 1);
/// 1-d convolution: input [N, C_in, L], weight [C_out, C_in / groups, k].
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = {},
              int64_t stride = 1, int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1);
/// Transposed 2-d convolution (the gradient of conv2d with respect to its input): weight
/// [C_in, C_out / groups, kh, kw].
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {},
                        Size2 stride = 1, Size2 padding = 0, Size2 output_padding = 0,
                        int64_t groups = 1, Size2 dilation = 1);

}  // namespace bg

BG_API_END
