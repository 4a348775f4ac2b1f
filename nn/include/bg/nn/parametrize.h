#pragma once
// Parametrizations: a parameter computed by a module from parameters of its own.
//
// After `register_parametrization(linear, "weight", p)`, the module's "weight" is no longer a
// parameter: its value is p->compute(), and p's parameters take its place (named
// "parametrizations.weight.<name>"). The layer's code does not change: it reads its `weight`
// handle, which now holds p's value (Note [Parametrized tensors] in core/src/tensor.cpp).
//
// When is the value computed? At most once per change of what it depends on:
//   - a deterministic parametrization (weight normalization) is recomputed when one of its
//     parameters changed since the last read (an optimizer step, a move to another device);
//   - a stochastic one (a variational posterior drawing weights) is recomputed once per step of
//     its sampling scope. A scope belongs to a model, not to the process: a BayesianModule gives
//     all its posteriors one scope and begins a new step at each of its forward passes, so one
//     model's forward pass never redraws another model's weights.
// So a forward pass that reads `weight` twice sees one value, and graphs recorded earlier keep
// the values they used: summing the losses of two forward passes and calling backward() once
// differentiates through both samples.

#include <memory>
#include <string>

#include "bg/core/api.h"
#include "bg/nn/module.h"

BG_API_BEGIN

namespace bg::nn {

/// The sampling steps of a group of stochastic parametrizations (the posteriors of one
/// BayesianModule): each of them draws one value per step of its scope, however often it is read.
class SamplingScope {
 public:
  /// The current step (it only grows; the first is 1).
  uint64_t step() const { return step_; }
  /// Starts a new step: the scope's stochastic parametrizations draw new values when next read.
  void begin_step() { ++step_; }
  /// The number of draws a vectorised pass evaluates at once (0 outside one): linear and the
  /// convolutions then get S draws of each weight (OperandForm::Kind::Samples) and run the S
  /// samples of the batch, stacked along the batch dim, in one batched product.
  int64_t samples() const { return samples_; }
  /// Begins (samples >= 1) or ends (0) a vectorised pass (BayesianModule::forward_samples).
  void set_samples(int64_t samples);

 private:
  uint64_t step_ = 1;
  int64_t samples_ = 0;
};

/// How linear and the convolutions (nn::functional: linear, conv1d, conv2d, conv_transpose2d)
/// evaluate a parametrized weight or bias. They ask the tensor's parametrization before reading
/// the tensor, so that a random weight can be evaluated other than by one draw shared by the whole
/// batch (the local reparameterization trick samples the op's output instead of the weight).
struct OperandForm {
  enum class Kind {
    Value,  ///< read the tensor as usual
    /// `samples` holds S draws [S, ...] for a vectorised pass of S samples (SamplingScope::
    /// samples()): the op's input holds S blocks of the batch along dim 0, block s for draw s.
    Samples,
    /// Independent Gaussian weights N(mean, stddev^2): the op draws its output from the Gaussian
    /// it implies, independently for each example (Kingma, Salimans & Welling, 2015).
    LocalReparameterization,
    /// Independent Gaussian weights: one perturbation stddev * noise shared by the batch, made
    /// independent across examples by random signs (Wen et al., 2018).
    Flipout,
  };
  Kind kind = Kind::Value;
  Tensor mean, stddev;  ///< the Gaussian (differentiable), of the tensor's shape
  Tensor noise;         ///< Flipout: the standard normal noise of the shared perturbation
  Tensor samples;       ///< Samples: [S, ...], differentiable
};

/// A module that computes the value of another module's parameter.
class Parametrization : public Module {
 public:
  /// `type_name` is what printing shows. The parametrization starts in a sampling scope of its own.
  explicit Parametrization(std::string type_name);
  /// The parametrized value (called when the value is stale).
  virtual Tensor compute() = 0;
  /// True when compute() draws random numbers, so the value must change once per sampling step
  /// even though no parameter changed.
  virtual bool is_stochastic() const { return false; }
  /// Marks the value stale, for a change no parameter or buffer shows (a new mode): the
  /// parametrized tensor computes it again at its next read.
  void invalidate() { ++revision_; }
  /// Counts invalidate() calls.
  uint64_t revision() const { return revision_; }
  /// The scope whose steps a stochastic parametrization follows.
  const std::shared_ptr<SamplingScope>& sampling_scope() const { return scope_; }
  /// Makes this parametrization follow `scope` (BayesianModule gives its posteriors one scope).
  void set_sampling_scope(std::shared_ptr<SamplingScope> scope);
  /// How linear and the convolutions evaluate the tensor now (OperandForm); by default its value.
  virtual OperandForm operand_form() { return {}; }
  /// Called before every other read of the tensor: throws when the tensor may not be read directly
  /// now (a weight whose operand form only those ops can apply). By default every read is fine.
  virtual void check_direct_read() {}

 private:
  uint64_t revision_ = 0;
  std::shared_ptr<SamplingScope> scope_;
};

namespace utils {

/// Replaces the parameter (or buffer) `name` of `module` by `parametrization`, whose compute()
/// must return a tensor of the same shape and dtype.
void register_parametrization(Module& module, const std::string& name,
                              std::shared_ptr<Parametrization> parametrization);

/// Undoes register_parametrization: `name` becomes a plain parameter again, holding the current
/// value (`keep_value`) or the value it had before it was parametrized.
void remove_parametrization(Module& module, const std::string& name, bool keep_value = true);

/// Whether `name` (or, when empty, any tensor) of `module` is parametrized.
bool is_parametrized(const Module& module, const std::string& name = "");

/// The parametrization of `name`; throws if there is none.
std::shared_ptr<Parametrization> parametrization_of(const Module& module, const std::string& name);

/// The parametrization whose value `tensor` holds (a parametrized parameter's handle), or null.
/// Reading it this way does not compute the tensor.
std::shared_ptr<Parametrization> parametrization_of(const Tensor& tensor);

/// Weight normalization (Salimans & Kingma, 2016): w = g v / ||v||, the norm taken over every dim
/// but `dim` (dim = 0: one g per output row). g and v start from the current weight.
class WeightNorm : public Parametrization {
 public:
  WeightNorm(const Tensor& weight, int64_t dim = 0);
  Tensor compute() override;
  void pretty_print(std::ostream& out) const override;
  Tensor g, v;

 private:
  int64_t dim_;
};

/// Parametrizes `name` of `module` with WeightNorm; returns the module.
Module& weight_norm(Module& module, const std::string& name = "weight", int64_t dim = 0);

}  // namespace utils
}  // namespace bg::nn

BG_API_END
