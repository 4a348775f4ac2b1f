#pragma once
// Helpers the optimizers share (internal to nn).

#include <string>
#include <tuple>

#include "bg/core/fused.h"
#include "bg/nn/optim/optimizer.h"

namespace bg::optim::detail {

/// Throws naming `optimizer` unless `value` >= 0 (NaN fails too).
void check_non_negative(const std::string& optimizer, const char* name, double value);
/// Throws naming `optimizer` unless both betas lie in [0, 1).
void check_betas(const std::string& optimizer, const std::tuple<double, double>& betas);

/// The buffer `name` of `state`, created the first time shaped like `param` (its dtype and
/// device) and filled with `value`.
Tensor buffer(ParamState& state, const std::string& name, const Tensor& param, double value = 0.0);

/// One Adam or AdamW update of `param`, creating its moment buffers at the first one.
void adam_update(const Tensor& param, ParamState& state, const fused::AdamHyper& hyper);

}  // namespace bg::optim::detail
