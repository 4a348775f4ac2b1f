#include "bg/nn/modules/normalization.h"

#include "bg/nn/functional.h"
#include "bg/nn/init.h"
#include "python_repr.h"

namespace bg::nn {

// ---- BatchNorm ----------------------------------------------------------------------------------

BatchNormImplBase::BatchNormImplBase(const char* name, const BatchNormOptions& options_)
    : Module(name), options(options_) {
  const int64_t channels = options.num_features();
  BG_CHECK(channels > 0, name, "num_features must be positive, got ", channels);
  if (options.affine()) {
    weight = register_parameter("weight", empty({channels}));
    bias = register_parameter("bias", empty({channels}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", empty({channels}));
    running_var = register_buffer("running_var", empty({channels}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
  reset_parameters();
}

void BatchNormImplBase::reset_running_stats() {
  if (!options.track_running_stats()) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  NoGradGuard no_grad;
  num_batches_tracked.zero_();
}

void BatchNormImplBase::reset_parameters() {
  reset_running_stats();
  if (options.affine()) {
    init::ones_(weight);
    init::zeros_(bias);
  }
}

Tensor BatchNormImplBase::forward(const Tensor& input) {
  check_input_dim(input);
  BG_CHECK(input.size(1) == options.num_features(), type_name(), "expected ",
           options.num_features(), " channels (num_features) in dim 1 of the input, got ",
           describe(input));
  const bool update_running_stats = is_training() && options.track_running_stats();
  double momentum = options.momentum().value_or(0.0);
  if (update_running_stats && !options.momentum()) {
    // The cumulative average: batch k (counting from 1) weighs 1/k.
    momentum = 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>() + 1);
  }
  // Without running statistics, batch statistics are used in eval mode too.
  const bool use_batch_stats = is_training() || !options.track_running_stats();
  Tensor out = functional::batch_norm(input, running_mean, running_var, weight, bias,
                                      use_batch_stats, momentum, options.eps());
  if (update_running_stats) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  return out;
}

void BatchNormImplBase::pretty_print(std::ostream& out) const {
  out << type_name() << "(" << options.num_features()
      << ", eps=" << detail::python_float(options.eps()) << ", momentum="
      << (options.momentum() ? detail::python_float(*options.momentum()) : std::string("None"))
      << ", affine=" << detail::python_bool(options.affine())
      << ", track_running_stats=" << detail::python_bool(options.track_running_stats()) << ")";
}

void BatchNorm1dImpl::check_input_dim(const Tensor& input) const {
  BG_CHECK(input.defined() && (input.dim() == 2 || input.dim() == 3), "BatchNorm1d",
           "expected a 2-d or 3-d input ([N, C] or [N, C, L]), got ", describe(input));
}

void BatchNorm2dImpl::check_input_dim(const Tensor& input) const {
  BG_CHECK(input.defined() && input.dim() == 4, "BatchNorm2d",
           "expected a 4-d input [N, C, H, W], got ", describe(input));
}

// ---- LayerNorm ----------------------------------------------------------------------------------

LayerNormImpl::LayerNormImpl(const LayerNormOptions& options_)
    : Module("LayerNorm"), options(options_) {
  const Shape& shape = options.normalized_shape();
  BG_CHECK(!shape.empty(), "LayerNorm", "normalized_shape must not be empty");
  for (int64_t size : shape) {
    BG_CHECK(size > 0, "LayerNorm", "normalized_shape must have positive sizes, got ",
             shape_str(shape));
  }
  if (options.elementwise_affine()) {
    weight = register_parameter("weight", empty(shape));
    bias = register_parameter("bias", empty(shape));
  }
  reset_parameters();
}

void LayerNormImpl::reset_parameters() {
  if (!options.elementwise_affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor LayerNormImpl::forward(const Tensor& input) {
  const Shape& shape = options.normalized_shape();
  const auto k = static_cast<int64_t>(shape.size());
  BG_CHECK(input.defined() && input.dim() >= k &&
               Shape(input.sizes().end() - k, input.sizes().end()) == shape,
           "LayerNorm",
           "expected an input whose last dims are normalized_shape = ", shape_str(shape), ", got ",
           describe(input));
  return functional::layer_norm(input, shape, weight, bias, options.eps());
}

void LayerNormImpl::pretty_print(std::ostream& out) const {
  out << "LayerNorm(" << detail::python_tuple(options.normalized_shape())
      << ", eps=" << detail::python_float(options.eps())
      << ", elementwise_affine=" << detail::python_bool(options.elementwise_affine()) << ")";
}

// ---- GroupNorm ----------------------------------------------------------------------------------

GroupNormImpl::GroupNormImpl(const GroupNormOptions& options_)
    : Module("GroupNorm"), options(options_) {
  const int64_t groups = options.num_groups(), channels = options.num_channels();
  BG_CHECK(groups > 0 && channels > 0 && channels % groups == 0, "GroupNorm", "num_channels (",
           channels, ") must be a positive multiple of num_groups (", groups, ")");
  if (options.affine()) {
    weight = register_parameter("weight", empty({channels}));
    bias = register_parameter("bias", empty({channels}));
  }
  reset_parameters();
}

void GroupNormImpl::reset_parameters() {
  if (!options.affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor GroupNormImpl::forward(const Tensor& input) {
  BG_CHECK(input.defined() && input.dim() >= 2 && input.size(1) == options.num_channels(),
           "GroupNorm",
           "expected an input [N, C, ...] with num_channels = ", options.num_channels(),
           " channels in dim 1, got ", describe(input));
  return functional::group_norm(input, options.num_groups(), weight, bias, options.eps());
}

void GroupNormImpl::pretty_print(std::ostream& out) const {
  out << "GroupNorm(" << options.num_groups() << ", " << options.num_channels()
      << ", eps=" << detail::python_float(options.eps())
      << ", affine=" << detail::python_bool(options.affine()) << ")";
}

}  // namespace bg::nn
