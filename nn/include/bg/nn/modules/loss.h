#pragma once
// Loss modules: each holds its options and calls the nn::functional loss of the same name in
// forward(input, target). Class weights are registered as buffers, so Module::to converts them.

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/loss_options.h"

BG_API_BEGIN

namespace bg::nn {

/// A loss module's shared part: its options, and their weight tensors registered as buffers.
template <typename Options>
class LossImpl : public Module {
 public:
  Options options;

 protected:
  LossImpl(const char* name, const Options& options_) : Module(name), options(options_) {}
  /// Registers `tensor` (an option's weight) as a buffer when defined.
  void register_weight(const char* name, const Tensor& tensor) {
    if (tensor.defined()) register_buffer(name, tensor);
  }
};

/// mean((input - target)^2).
class MSELossImpl : public LossImpl<MSELossOptions> {
 public:
  explicit MSELossImpl(const MSELossOptions& options = {}) : LossImpl("MSELoss", options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
};
BG_MODULE(MSELoss);

/// mean(|input - target|).
class L1LossImpl : public LossImpl<L1LossOptions> {
 public:
  explicit L1LossImpl(const L1LossOptions& options = {}) : LossImpl("L1Loss", options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
};
BG_MODULE(L1Loss);

class SmoothL1LossImpl : public LossImpl<SmoothL1LossOptions> {
 public:
  explicit SmoothL1LossImpl(const SmoothL1LossOptions& options = {})
      : LossImpl("SmoothL1Loss", options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
};
BG_MODULE(SmoothL1Loss);

class HuberLossImpl : public LossImpl<HuberLossOptions> {
 public:
  explicit HuberLossImpl(const HuberLossOptions& options = {}) : LossImpl("HuberLoss", options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
};
BG_MODULE(HuberLoss);

/// The negative log-likelihood of log-probabilities at class indices.
class NLLLossImpl : public LossImpl<NLLLossOptions> {
 public:
  explicit NLLLossImpl(const NLLLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
};
BG_MODULE(NLLLoss);

/// Cross entropy of class scores (logits) against class indices or probabilities.
class CrossEntropyLossImpl : public LossImpl<CrossEntropyLossOptions> {
 public:
  explicit CrossEntropyLossImpl(const CrossEntropyLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
};
BG_MODULE(CrossEntropyLoss);

/// Binary cross entropy of probabilities.
class BCELossImpl : public LossImpl<BCELossOptions> {
 public:
  explicit BCELossImpl(const BCELossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
};
BG_MODULE(BCELoss);

/// Binary cross entropy of logits, computed stably.
class BCEWithLogitsLossImpl : public LossImpl<BCEWithLogitsLossOptions> {
 public:
  explicit BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
};
BG_MODULE(BCEWithLogitsLoss);

/// The negative log-likelihood of a Gaussian with mean `input` and variance `var`.
class GaussianNLLLossImpl : public LossImpl<GaussianNLLLossOptions> {
 public:
  explicit GaussianNLLLossImpl(const GaussianNLLLossOptions& options = {})
      : LossImpl("GaussianNLLLoss", options) {}
  Tensor forward(const Tensor& input, const Tensor& target, const Tensor& var);
};
BG_MODULE(GaussianNLLLoss);

/// The Kullback-Leibler divergence of the target from the input's distribution.
class KLDivLossImpl : public LossImpl<KLDivLossOptions> {
 public:
  explicit KLDivLossImpl(const KLDivLossOptions& options = {}) : LossImpl("KLDivLoss", options) {}
  Tensor forward(const Tensor& input, const Tensor& target);
};
BG_MODULE(KLDivLoss);

}  // namespace bg::nn

BG_API_END
