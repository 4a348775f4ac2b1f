#pragma once
// AdamW (torch.optim.AdamW): Adam with decoupled weight decay.

#include <tuple>

#include "bg/core/api.h"
#include "bg/nn/optim/optimizer.h"

BG_API_BEGIN

namespace bg::optim {

struct AdamWOptions : public OptimizerCloneableOptions<AdamWOptions> {
  AdamWOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: `AdamW adamw(params, 1e-3)` reads well
  using betas_t = std::tuple<double, double>;
  BG_ARG(double, lr);
  BG_ARG(betas_t, betas) = {0.9, 0.999};
  BG_ARG(double, eps) = 1e-8;
  BG_ARG(double, weight_decay) = 1e-2;
  /// Normalize by the largest second moment seen so far (AMSGrad).
  BG_ARG(bool, amsgrad) = false;
  /// Follow the gradient up instead of down.
  BG_ARG(bool, maximize) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void visit(HyperparameterVisitor& visitor) override;
  void check(const std::string& optimizer) const override;
};

/// param *= 1 - lr * weight_decay, then Adam's update without weight decay.
class AdamW : public Optimizer {
 public:
  explicit AdamW(std::vector<Tensor> params, const AdamWOptions& defaults = {});
  explicit AdamW(std::vector<OptimizerParamGroup> param_groups, const AdamWOptions& defaults = {});

 protected:
  void update(const Tensor& param, ParamState& state, const OptimizerOptions& options) override;
  std::vector<std::string> buffer_names(const OptimizerOptions& options) const override;
};

}  // namespace bg::optim

BG_API_END
