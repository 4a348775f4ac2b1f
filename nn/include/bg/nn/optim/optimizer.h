#pragma once
// Optimizers with LibTorch's names: the base class, parameter groups, options and state.
//
//   bg::optim::Adam adam(net->parameters(), bg::optim::AdamOptions(1e-3).weight_decay(1e-4));
//   for (...) {
//     adam.zero_grad();
//     loss_fn(net(x), y).backward();
//     adam.step();
//   }
//
// Parameters come in groups, each with its own options (its own lr, ...); a group built without
// options takes the optimizer's defaults:
//
//   bg::optim::SGD sgd({bg::optim::OptimizerParamGroup(net->encoder->parameters()),
//                       bg::optim::OptimizerParamGroup(net->head->parameters(),
//                                                      bg::optim::SGDOptions(0.1))},
//                      bg::optim::SGDOptions(0.01).momentum(0.9));
//   sgd.param_groups()[1].options().set_lr(0.05);
//
// The optimizer keeps state per parameter (momentum buffers, moment estimates, step counts),
// created at the parameter's first update with its dtype and device. A parameter moved with
// Module::to keeps its identity, and its state is converted to the new dtype and device at its
// next update. Updates run under NoGradGuard, with the fused kernels of bg/core/fused.h.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "bg/core.h"
#include "bg/core/api.h"
#include "bg/nn/options.h"
#include "bg/nn/ordered_dict.h"

BG_API_BEGIN

namespace bg::optim {

/// Receives each hyperparameter of an options struct by its PyTorch name, and may change it.
class HyperparameterVisitor {
 public:
  virtual ~HyperparameterVisitor() = default;
  virtual void visit(const char* name, double& value) = 0;
  virtual void visit(const char* name, bool& value) = 0;
  virtual void visit(const char* name, std::tuple<double, double>& value) = 0;
};

/// The options of one parameter group. Each optimizer has its own kind (SGDOptions, AdamOptions,
/// ...), whose fields have chained setters: `AdamOptions(1e-3).betas({0.9, 0.99})`.
class OptimizerOptions {
 public:
  virtual ~OptimizerOptions() = default;
  /// A copy of these options, of the same kind.
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  /// The learning rate (what schedulers read and write).
  virtual double get_lr() const = 0;
  virtual void set_lr(double lr) = 0;
  /// Shows every hyperparameter to `visitor`.
  virtual void visit(HyperparameterVisitor& visitor) = 0;
  /// Throws bg::Error naming `optimizer` and the value when a hyperparameter is out of its range.
  virtual void check(const std::string& optimizer) const = 0;

  /// The hyperparameters as text that reads back exactly: {"lr": "0.001", "betas": "0.9,0.999",
  /// "amsgrad": "false", ...}.
  std::map<std::string, std::string> to_map() const;
  /// Sets every hyperparameter from text in to_map()'s form; throws naming `optimizer` and the
  /// key when one is missing, unknown or malformed (these options are then left unchanged).
  void from_map(const std::map<std::string, std::string>& values, const std::string& optimizer);
};

/// Gives an options struct its clone().
template <typename Derived>
class OptimizerCloneableOptions : public OptimizerOptions {
 public:
  std::unique_ptr<OptimizerOptions> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

/// Parameters trained with the same options. A group made without options takes the
/// optimizer's defaults when the optimizer adopts it.
class OptimizerParamGroup {
 public:
  OptimizerParamGroup(std::vector<Tensor> params);  // NOLINT: a list of tensors is a group
  OptimizerParamGroup(std::vector<Tensor> params, const OptimizerOptions& options);
  OptimizerParamGroup(std::vector<Tensor> params, std::unique_ptr<OptimizerOptions> options);
  /// Copies share the parameters and copy the options.
  OptimizerParamGroup(const OptimizerParamGroup& other);
  OptimizerParamGroup& operator=(const OptimizerParamGroup& other);
  OptimizerParamGroup(OptimizerParamGroup&&) = default;
  OptimizerParamGroup& operator=(OptimizerParamGroup&&) = default;

  /// False for a group made without options that no optimizer has adopted.
  bool has_options() const { return options_ != nullptr; }
  /// The group's options; throws if it has none.
  OptimizerOptions& options();
  const OptimizerOptions& options() const;
  /// Replaces the options (of the optimizer's kind, for a group an optimizer holds).
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }
  /// The group's parameters.
  std::vector<Tensor>& params() { return params_; }
  const std::vector<Tensor>& params() const { return params_; }

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<OptimizerOptions> options_;
};

/// What an optimizer keeps for one parameter.
struct ParamState {
  /// Updates applied to the parameter so far.
  int64_t step = 0;
  /// Tensors shaped like the parameter ("momentum_buffer", "exp_avg", ...).
  nn::OrderedDict<Tensor> buffers;
};

/// An optimizer's state in memory: what a checkpoint stores and load_state_dict restores.
struct OptimizerStateDict {
  /// For each parameter i that has been updated (counting through the groups in order): its
  /// buffers as "state.<i>.<name>", and its update count as "state.<i>.step" (int64, 0-dim).
  nn::OrderedDict<Tensor> state;
  /// For each group: its hyperparameters (OptimizerOptions::to_map) and "params", the
  /// comma-separated indices of its parameters.
  std::vector<std::map<std::string, std::string>> param_groups;
};

/// The base of the optimizers: parameter groups, per-parameter state, step() and zero_grad(). A
/// subclass implements update() (one parameter's step) and buffer_names().
class Optimizer {
 public:
  /// Recomputes the loss and its gradients (for step(closure)).
  using LossClosure = std::function<Tensor()>;

  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Updates every parameter whose gradient is defined (the others are skipped), under
  /// NoGradGuard. A closure is first called with grad mode on; its loss is returned.
  Tensor step(const LossClosure& closure = nullptr);
  /// Resets the gradients of all parameters (to undefined, or to zeros with set_to_none false).
  void zero_grad(bool set_to_none = true);
  /// Adds a group (with the defaults if it has no options of its own).
  void add_param_group(const OptimizerParamGroup& group);

  /// The groups, in order. Their options may be changed between steps (schedulers set the lr).
  std::vector<OptimizerParamGroup>& param_groups() { return param_groups_; }
  const std::vector<OptimizerParamGroup>& param_groups() const { return param_groups_; }
  /// The options groups without their own were given.
  const OptimizerOptions& defaults() const { return *defaults_; }
  OptimizerOptions& defaults() { return *defaults_; }
  /// Every parameter, group after group.
  std::vector<Tensor> parameters() const;
  /// The number of parameters.
  size_t size() const;
  /// "SGD", "Adam", ...: how messages name this optimizer.
  const std::string& name() const { return name_; }
  /// The state of `param`, or null before its first update.
  const ParamState* state(const Tensor& param) const;

  /// A snapshot of the state (copies of the buffers) and of each group's hyperparameters.
  OptimizerStateDict state_dict() const;
  /// Restores a state_dict() of an optimizer of this kind over parameters of the same shapes,
  /// group by group: the hyperparameters and the per-parameter state, converted to each
  /// parameter's dtype and device. Checks everything first; on error nothing is changed.
  void load_state_dict(const OptimizerStateDict& state_dict);

 protected:
  /// Adopts the groups; `defaults` gives the kind of options every group must have.
  Optimizer(std::string name, std::vector<OptimizerParamGroup> param_groups,
            std::unique_ptr<OptimizerOptions> defaults);

  /// Updates `param`, whose gradient is defined, with its group's options (of this optimizer's
  /// kind). `state.step` already counts this update; the buffers already have the parameter's
  /// dtype and device.
  virtual void update(const Tensor& param, ParamState& state, const OptimizerOptions& options) = 0;
  /// The buffers update() keeps for a parameter of a group with `options` (what load_state_dict
  /// expects for every updated parameter).
  virtual std::vector<std::string> buffer_names(const OptimizerOptions& options) const = 0;

 private:
  // Throws unless the group has options of this optimizer's kind.
  void check_options_kind(const OptimizerParamGroup& group, size_t index) const;

  std::string name_;
  std::vector<OptimizerParamGroup> param_groups_;
  std::unique_ptr<OptimizerOptions> defaults_;
  // The state by parameter object. Each entry holds its parameter, so that the address it is
  // keyed by cannot be reused by another tensor while the entry exists.
  struct StateEntry {
    Tensor param;
    ParamState state;
  };
  std::unordered_map<const TensorImpl*, StateEntry> state_;
};

}  // namespace bg::optim

BG_API_END
