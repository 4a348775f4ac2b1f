#pragma once
// Pooling layers: MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool2d (torch.nn's).

#include "bg/core/api.h"
#include "bg/core/pooling.h"
#include "bg/nn/holder.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

struct MaxPool2dOptions {
  /// The stride starts equal to the kernel size (non-overlapping windows), as in PyTorch.
  MaxPool2dOptions(Size2 kernel_size)  // NOLINT: `MaxPool2d(2)` reads well
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  BG_ARG(Size2, kernel_size);
  BG_ARG(Size2, stride);
  /// Implicit -infinity padding on both sides, at most half the kernel size.
  BG_ARG(Size2, padding) = 0;
  BG_ARG(Size2, dilation) = 1;
  /// Count a last window that starts inside the input but overhangs it.
  BG_ARG(bool, ceil_mode) = false;
};

/// The maximum of each window of inputs [N, C, H, W] or [C, H, W]; the gradient goes to the
/// position of the (first) maximum.
class MaxPool2dImpl : public Module {
 public:
  explicit MaxPool2dImpl(Size2 kernel_size) : MaxPool2dImpl(MaxPool2dOptions(kernel_size)) {}
  explicit MaxPool2dImpl(const MaxPool2dOptions& options);
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  MaxPool2dOptions options;
};
BG_MODULE(MaxPool2d);

struct MaxPool1dOptions {
  /// The stride starts equal to the kernel size (non-overlapping windows), as in PyTorch.
  MaxPool1dOptions(int64_t kernel_size)  // NOLINT: `MaxPool1d(2)` reads well
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  BG_ARG(int64_t, kernel_size);
  BG_ARG(int64_t, stride);
  /// Implicit -infinity padding on both sides, at most half the kernel size.
  BG_ARG(int64_t, padding) = 0;
  BG_ARG(int64_t, dilation) = 1;
  /// Count a last window that starts inside the input but overhangs it.
  BG_ARG(bool, ceil_mode) = false;
};

/// The maximum of each window of inputs [N, C, L] or [C, L].
class MaxPool1dImpl : public Module {
 public:
  explicit MaxPool1dImpl(const MaxPool1dOptions& options);
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  MaxPool1dOptions options;
};
BG_MODULE(MaxPool1d);

struct AvgPool2dOptions {
  /// The stride starts equal to the kernel size (non-overlapping windows), as in PyTorch.
  AvgPool2dOptions(Size2 kernel_size)  // NOLINT: `AvgPool2d(2)` reads well
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  BG_ARG(Size2, kernel_size);
  BG_ARG(Size2, stride);
  /// Implicit zero padding on both sides, at most half the kernel size.
  BG_ARG(Size2, padding) = 0;
  /// Count a last window that starts inside the input but overhangs it.
  BG_ARG(bool, ceil_mode) = false;
  /// Divide by the window size including the padding (else by the input positions covered).
  BG_ARG(bool, count_include_pad) = true;
};

/// The average of each window of inputs [N, C, H, W] or [C, H, W].
class AvgPool2dImpl : public Module {
 public:
  explicit AvgPool2dImpl(Size2 kernel_size) : AvgPool2dImpl(AvgPool2dOptions(kernel_size)) {}
  explicit AvgPool2dImpl(const AvgPool2dOptions& options);
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  AvgPool2dOptions options;
};
BG_MODULE(AvgPool2d);

struct AvgPool1dOptions {
  /// The stride starts equal to the kernel size (non-overlapping windows), as in PyTorch.
  AvgPool1dOptions(int64_t kernel_size)  // NOLINT: `AvgPool1d(2)` reads well
      : kernel_size_(kernel_size), stride_(kernel_size) {}
  BG_ARG(int64_t, kernel_size);
  BG_ARG(int64_t, stride);
  /// Implicit zero padding on both sides, at most half the kernel size.
  BG_ARG(int64_t, padding) = 0;
  /// Count a last window that starts inside the input but overhangs it.
  BG_ARG(bool, ceil_mode) = false;
  /// Divide by the window size including the padding (else by the input positions covered).
  BG_ARG(bool, count_include_pad) = true;
};

/// The average of each window of inputs [N, C, L] or [C, L].
class AvgPool1dImpl : public Module {
 public:
  explicit AvgPool1dImpl(const AvgPool1dOptions& options);
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  AvgPool1dOptions options;
};
BG_MODULE(AvgPool1d);

struct AdaptiveAvgPool2dOptions {
  AdaptiveAvgPool2dOptions(Size2 output_size)  // NOLINT: `AdaptiveAvgPool2d(1)` reads well
      : output_size_(output_size) {}
  BG_ARG(Size2, output_size);
};

/// Average pooling of inputs [N, C, H, W] or [C, H, W] to a fixed output size: output row i
/// averages input rows [floor(i H / OH), ceil((i + 1) H / OH)), and the columns likewise.
class AdaptiveAvgPool2dImpl : public Module {
 public:
  explicit AdaptiveAvgPool2dImpl(Size2 output_size)
      : AdaptiveAvgPool2dImpl(AdaptiveAvgPool2dOptions(output_size)) {}
  explicit AdaptiveAvgPool2dImpl(const AdaptiveAvgPool2dOptions& options);
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  AdaptiveAvgPool2dOptions options;
};
BG_MODULE(AdaptiveAvgPool2d);

}  // namespace bg::nn

BG_API_END
