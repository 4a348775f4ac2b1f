#pragma once
// Gradient clipping (torch.nn.utils.clip_grad_norm_ and clip_grad_value_): call between
// backward() and the optimizer's step().

#include <vector>

#include "bg/core.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::nn::utils {

/// Scales the gradients of `parameters` in place by max_norm / (total + 1e-6) when that is below
/// 1, where total is the norm_type-norm (INFINITY: the largest magnitude) of all the gradients
/// together, and returns total. Parameters without a gradient are ignored (0 when none has one).
/// With error_if_nonfinite, a NaN or infinite total throws instead.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm,
                       double norm_type = 2.0, bool error_if_nonfinite = false);
double clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

/// Clamps every gradient element of `parameters` to [-clip_value, clip_value], in place.
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);
void clip_grad_value_(const Tensor& parameter, double clip_value);

}  // namespace bg::nn::utils

BG_API_END
