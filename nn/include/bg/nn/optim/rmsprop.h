#pragma once
// RMSprop (torch.optim.RMSprop), optionally centered and with momentum.

#include "bg/core/api.h"
#include "bg/nn/optim/optimizer.h"

BG_API_BEGIN

namespace bg::optim {

struct RMSpropOptions : public OptimizerCloneableOptions<RMSpropOptions> {
  RMSpropOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: `RMSprop r(params, 1e-2)` reads well
  BG_ARG(double, lr);
  /// The smoothing constant of the running averages.
  BG_ARG(double, alpha) = 0.99;
  BG_ARG(double, eps) = 1e-8;
  BG_ARG(double, weight_decay) = 0.0;
  BG_ARG(double, momentum) = 0.0;
  /// Normalize by an estimate of the gradient's variance instead of its second moment.
  BG_ARG(bool, centered) = false;
  /// Follow the gradient up instead of down.
  BG_ARG(bool, maximize) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void visit(HyperparameterVisitor& visitor) override;
  void check(const std::string& optimizer) const override;
};

/// g = grad (+ weight_decay * param); s = alpha s + (1 - alpha) g^2; avg = sqrt(s) + eps, or
/// sqrt(s - a^2) + eps with a = alpha a + (1 - alpha) g when centered; then param -= lr * g / avg,
/// or with momentum buf = momentum * buf + g / avg and param -= lr * buf.
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults = {});
  explicit RMSprop(std::vector<OptimizerParamGroup> param_groups,
                   const RMSpropOptions& defaults = {});

 protected:
  void update(const Tensor& param, ParamState& state, const OptimizerOptions& options) override;
  std::vector<std::string> buffer_names(const OptimizerOptions& options) const override;
};

}  // namespace bg::optim

BG_API_END
