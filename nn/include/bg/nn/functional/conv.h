#pragma once
// nn::functional's convolutions and pooling: the core ops of bg/core/conv.h and bg/core/pooling.h
// under their torch.nn.functional names. Inputs are [N, C, H, W] (2-d) or [N, C, L] (1-d), or the
// same without the batch dim.

#include "bg/core/api.h"
#include "bg/core/conv.h"
#include "bg/core/pooling.h"

BG_API_BEGIN

namespace bg::nn::functional {

// The convolutions are the core ops, except that a parametrized weight or bias may ask to be
// evaluated in its own way (nn::OperandForm: the local reparameterization trick, Flipout).

/// 2-d convolution: weight [C_out, C_in / groups, kH, kW], optional bias [C_out].
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, Size2 stride = 1,
              Size2 padding = 0, Size2 dilation = 1, int64_t groups = 1);
/// 1-d convolution: weight [C_out, C_in / groups, k], optional bias [C_out].
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = {},
              int64_t stride = 1, int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1);
/// Transposed 2-d convolution (conv2d's gradient with respect to its input): weight
/// [C_in, C_out / groups, kH, kW].
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = {},
                        Size2 stride = 1, Size2 padding = 0, Size2 output_padding = 0,
                        int64_t groups = 1, Size2 dilation = 1);
/// 2-d max pooling; the stride defaults to the kernel size.
using ::bg::max_pool2d;
/// 1-d max pooling; the stride defaults to the kernel size.
using ::bg::max_pool1d;
/// 2-d average pooling; the stride defaults to the kernel size.
using ::bg::avg_pool2d;
/// 1-d average pooling; the stride defaults to the kernel size.
using ::bg::avg_pool1d;
/// Average pooling to a fixed output size.
using ::bg::adaptive_avg_pool2d;
/// The sliding windows of an image as columns [N, C kH kW, L].
using ::bg::unfold;
/// The adjoint of unfold: columns summed back into an image.
using ::bg::fold;

}  // namespace bg::nn::functional

BG_API_END
