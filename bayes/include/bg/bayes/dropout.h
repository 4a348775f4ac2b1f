#pragma once
// Monte Carlo dropout (Gal & Ghahramani, 2016): dropout left on at prediction time, so that each
// forward pass runs a different thinned network and the spread of their outputs measures the
// model's uncertainty. Two ways to get it:
//
//   // 1. Build the model with dropout layers that are always active.
//   nn::Sequential net(nn::Linear(4, 50), nn::ReLU(), bayes::BayesianDropout(0.1), nn::Linear(50,
//   1));
//   // 2. Or switch on the nn dropout layers (Dropout, Dropout1d/2d/3d, AlphaDropout, ...) of an
//   //    existing model.
//   bayes::enable_mc_dropout(net);
//
//   net->eval();                                        // batch norm etc. switch to eval mode;
//   bayes::Prediction p = bayes::predict(net, x, 100);  // dropout keeps sampling
//
// enable_mc_dropout sets a flag on each layer (nn::DropoutImpl::active_in_eval) instead of putting
// the layer in training mode, as torchbayesian does: a later net->eval() (or train(false) called by
// any code) would silently turn the latter off, but leaves the flag alone.

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/modules/dropout.h"

BG_API_BEGIN

namespace bg::bayes {

using BayesianDropoutOptions = nn::DropoutOptions;

/// Dropout that samples in training and in eval mode alike: zeroes each element with probability
/// p and scales the others by 1 / (1 - p), so the expected value is unchanged.
class BayesianDropoutImpl : public nn::Module {
 public:
  explicit BayesianDropoutImpl(const BayesianDropoutOptions& options = {});
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  BayesianDropoutOptions options;
};
BG_MODULE(BayesianDropout);

using BayesianDropout2dOptions = nn::DropoutOptions;

/// Channel dropout that samples in training and in eval mode alike: for inputs [N, C, H, W] or
/// [C, H, W], each [H, W] plane is zeroed with probability p or kept and scaled by 1 / (1 - p).
class BayesianDropout2dImpl : public nn::Module {
 public:
  explicit BayesianDropout2dImpl(const BayesianDropout2dOptions& options = {});
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  BayesianDropout2dOptions options;
};
BG_MODULE(BayesianDropout2d);

/// Makes every nn dropout layer in `module` (nn::Dropout, Dropout1d, Dropout2d, Dropout3d,
/// AlphaDropout, FeatureAlphaDropout; itself included, at any depth) keep dropping in eval mode,
/// whatever train()/eval() calls follow. Returns how many layers it found
/// (0 means the model has no dropout and predictions will not vary).
int64_t enable_mc_dropout(nn::Module& module);
template <typename Impl>
int64_t enable_mc_dropout(const nn::ModuleHolder<Impl>& module) {
  return enable_mc_dropout(*module);
}

/// Undoes enable_mc_dropout: the nn dropout layers follow train()/eval() again. Returns how many
/// layers it found. (BayesianDropout layers are always active.)
int64_t disable_mc_dropout(nn::Module& module);
template <typename Impl>
int64_t disable_mc_dropout(const nn::ModuleHolder<Impl>& module) {
  return disable_mc_dropout(*module);
}

}  // namespace bg::bayes

BG_API_END
