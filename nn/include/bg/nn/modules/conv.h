#pragma once
// Convolution layers: Conv1d, Conv2d, ConvTranspose2d (torch.nn's).

#include "bg/core/api.h"
#include "bg/core/conv.h"
#include "bg/nn/holder.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

struct Conv2dOptions {
  Conv2dOptions(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  BG_ARG(int64_t, in_channels);
  BG_ARG(int64_t, out_channels);
  BG_ARG(Size2, kernel_size);
  BG_ARG(Size2, stride) = 1;
  BG_ARG(Size2, padding) = 0;
  BG_ARG(Size2, dilation) = 1;
  /// Channels are split into this many groups, each convolved with its own filters.
  BG_ARG(int64_t, groups) = 1;
  BG_ARG(bool, bias) = true;
};

/// 2-d convolution (cross-correlation) of inputs [N, C_in, H, W] or [C_in, H, W]. Weight
/// [C_out, C_in / groups, kH, kW] and bias [C_out] start from PyTorch's default: kaiming_uniform_
/// with a = sqrt(5) for the weight, which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with
/// fan_in = C_in / groups * kH * kW, and the same bound for the bias.
class Conv2dImpl : public Module {
 public:
  Conv2dImpl(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : Conv2dImpl(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
  explicit Conv2dImpl(const Conv2dOptions& options);

  /// Draws the parameters again from their initial distribution.
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;

  Conv2dOptions options;
  Tensor weight;
  Tensor bias;  ///< undefined without bias
};
BG_MODULE(Conv2d);

struct Conv1dOptions {
  Conv1dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  BG_ARG(int64_t, in_channels);
  BG_ARG(int64_t, out_channels);
  BG_ARG(int64_t, kernel_size);
  BG_ARG(int64_t, stride) = 1;
  BG_ARG(int64_t, padding) = 0;
  BG_ARG(int64_t, dilation) = 1;
  /// Channels are split into this many groups, each convolved with its own filters.
  BG_ARG(int64_t, groups) = 1;
  BG_ARG(bool, bias) = true;
};

/// 1-d convolution of inputs [N, C_in, L] or [C_in, L]. Weight [C_out, C_in / groups, k] and bias
/// [C_out] start from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C_in / groups * k, as in
/// PyTorch.
class Conv1dImpl : public Module {
 public:
  Conv1dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : Conv1dImpl(Conv1dOptions(in_channels, out_channels, kernel_size)) {}
  explicit Conv1dImpl(const Conv1dOptions& options);

  /// Draws the parameters again from their initial distribution.
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;

  Conv1dOptions options;
  Tensor weight;
  Tensor bias;  ///< undefined without bias
};
BG_MODULE(Conv1d);

struct ConvTranspose2dOptions {
  ConvTranspose2dOptions(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  BG_ARG(int64_t, in_channels);
  BG_ARG(int64_t, out_channels);
  BG_ARG(Size2, kernel_size);
  BG_ARG(Size2, stride) = 1;
  BG_ARG(Size2, padding) = 0;
  /// Extra rows and columns at the bottom and right of the output (smaller than the stride or the
  /// dilation), to pick one of the output sizes a strided conv2d maps to the same input size.
  BG_ARG(Size2, output_padding) = 0;
  BG_ARG(int64_t, groups) = 1;
  BG_ARG(bool, bias) = true;
  BG_ARG(Size2, dilation) = 1;
};

/// Transposed 2-d convolution (the gradient of conv2d with respect to its input) of inputs
/// [N, C_in, H, W] or [C_in, H, W]. Weight [C_in, C_out / groups, kH, kW] and bias [C_out] start
/// from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C_out / groups * kH * kW, as in PyTorch.
class ConvTranspose2dImpl : public Module {
 public:
  ConvTranspose2dImpl(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : ConvTranspose2dImpl(ConvTranspose2dOptions(in_channels, out_channels, kernel_size)) {}
  explicit ConvTranspose2dImpl(const ConvTranspose2dOptions& options);

  /// Draws the parameters again from their initial distribution.
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;

  ConvTranspose2dOptions options;
  Tensor weight;
  Tensor bias;  ///< undefined without bias
};
BG_MODULE(ConvTranspose2d);

}  // namespace bg::nn

BG_API_END
