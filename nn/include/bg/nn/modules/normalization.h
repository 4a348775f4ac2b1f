#pragma once
// Normalization layers: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm.

#include <optional>
#include <vector>

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

struct BatchNormOptions {
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT
  /// C, the size of dim 1 of the input.
  BG_ARG(int64_t, num_features);
  BG_ARG(double, eps) = 1e-5;
  /// The weight of each batch in the running statistics; unset (std::nullopt) gives the
  /// cumulative average of all batches so far.
  BG_ARG(std::optional<double>, momentum) = 0.1;
  /// Learn a scale (weight, ones) and shift (bias, zeros) per channel.
  BG_ARG(bool, affine) = true;
  /// Keep running_mean, running_var and num_batches_tracked and normalize with them in eval mode
  /// (otherwise batch statistics are used in both modes).
  BG_ARG(bool, track_running_stats) = true;
};

/// What BatchNorm1d and BatchNorm2d share (PyTorch's _BatchNorm). In training mode the input is
/// normalized per channel with the batch's mean and biased variance, and the running statistics
/// are updated with the batch mean and unbiased variance; in eval mode the running statistics are
/// used.
class BatchNormImplBase : public Module {
 public:
  /// Resets the running statistics: mean 0, variance 1, no batches seen.
  void reset_running_stats();
  /// Resets the running statistics and the affine parameters (weight 1, bias 0).
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;

  BatchNormOptions options;
  Tensor weight;               ///< [C], undefined without affine
  Tensor bias;                 ///< [C], undefined without affine
  Tensor running_mean;         ///< buffer [C], undefined without track_running_stats
  Tensor running_var;          ///< buffer [C], undefined without track_running_stats
  Tensor num_batches_tracked;  ///< int64 buffer [], undefined without track_running_stats

 protected:
  BatchNormImplBase(const char* name, const BatchNormOptions& options);
  /// Throws naming the layer unless the input has the dims this layer takes.
  virtual void check_input_dim(const Tensor& input) const = 0;
};

/// Batch normalization of inputs [N, C] or [N, C, L] (Ioffe & Szegedy, 2015).
class BatchNorm1dImpl : public BatchNormImplBase {
 public:
  explicit BatchNorm1dImpl(const BatchNormOptions& options)
      : BatchNormImplBase("BatchNorm1d", options) {}

 protected:
  void check_input_dim(const Tensor& input) const override;
};
BG_MODULE(BatchNorm1d);

/// Batch normalization of inputs [N, C, H, W].
class BatchNorm2dImpl : public BatchNormImplBase {
 public:
  explicit BatchNorm2dImpl(const BatchNormOptions& options)
      : BatchNormImplBase("BatchNorm2d", options) {}

 protected:
  void check_input_dim(const Tensor& input) const override;
};
BG_MODULE(BatchNorm2d);

struct LayerNormOptions {
  LayerNormOptions(Shape normalized_shape)  // NOLINT: `LayerNorm(Shape{4})` reads well
      : normalized_shape_(std::move(normalized_shape)) {}
  /// The trailing dims normalized over (together).
  BG_ARG(Shape, normalized_shape);
  BG_ARG(double, eps) = 1e-5;
  /// Learn a weight (ones) and bias (zeros) of normalized_shape.
  BG_ARG(bool, elementwise_affine) = true;
};

/// Layer normalization (Ba et al., 2016): each sample is normalized over its last dims.
class LayerNormImpl : public Module {
 public:
  explicit LayerNormImpl(const LayerNormOptions& options);
  /// weight 1, bias 0.
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;

  LayerNormOptions options;
  Tensor weight;  ///< normalized_shape, undefined without elementwise_affine
  Tensor bias;    ///< normalized_shape, undefined without elementwise_affine
};
BG_MODULE(LayerNorm);

struct GroupNormOptions {
  GroupNormOptions(int64_t num_groups, int64_t num_channels)
      : num_groups_(num_groups), num_channels_(num_channels) {}
  BG_ARG(int64_t, num_groups);
  BG_ARG(int64_t, num_channels);
  BG_ARG(double, eps) = 1e-5;
  /// Learn a weight (ones) and bias (zeros) per channel.
  BG_ARG(bool, affine) = true;
};

/// Group normalization (Wu & He, 2018): the channels of input [N, C, ...] are split into groups,
/// each normalized over its channels and positions.
class GroupNormImpl : public Module {
 public:
  GroupNormImpl(int64_t num_groups, int64_t num_channels)
      : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}
  explicit GroupNormImpl(const GroupNormOptions& options);
  /// weight 1, bias 0.
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;

  GroupNormOptions options;
  Tensor weight;  ///< [C], undefined without affine
  Tensor bias;    ///< [C], undefined without affine
};
BG_MODULE(GroupNorm);

}  // namespace bg::nn

BG_API_END
