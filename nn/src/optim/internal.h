#pragma once
// Helpers the optimizers share (internal to nn).

#include <string>
#include <tuple>
#include <vector>

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

/// One Adam or AdamW update of `param` with `hyper`, creating its moment buffers at the first one.
void adam_update(const Tensor& param, ParamState& state, const fused::AdamHyper& hyper);

// Adam and AdamW share their hyperparameters (AdamOptions and AdamWOptions differ in a default)
// and their update (AdamW decouples the weight decay): what reads those options is written once.

/// One update of `param` with Adam's or AdamW's `options`.
template <typename AdamLikeOptions>
void adam_update(const Tensor& param, ParamState& state, const AdamLikeOptions& options,
                 bool decoupled_weight_decay) {
  fused::AdamHyper hyper;
  hyper.lr = options.lr();
  hyper.beta1 = std::get<0>(options.betas());
  hyper.beta2 = std::get<1>(options.betas());
  hyper.eps = options.eps();
  hyper.weight_decay = options.weight_decay();
  hyper.amsgrad = options.amsgrad();
  hyper.maximize = options.maximize();
  hyper.decoupled_weight_decay = decoupled_weight_decay;
  hyper.step = state.step;
  adam_update(param, state, hyper);
}

/// Throws naming `optimizer` for a negative lr, eps or weight decay, or betas outside [0, 1).
template <typename AdamLikeOptions>
void check_adam_options(const AdamLikeOptions& options, const std::string& optimizer) {
  check_non_negative(optimizer, "lr", options.lr());
  check_non_negative(optimizer, "eps", options.eps());
  check_betas(optimizer, options.betas());
  check_non_negative(optimizer, "weight_decay", options.weight_decay());
}

/// The buffers Adam and AdamW keep per parameter.
std::vector<std::string> adam_buffer_names(bool amsgrad);

}  // namespace bg::optim::detail
