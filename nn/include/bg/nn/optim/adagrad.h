#pragma once
// Adagrad (torch.optim.Adagrad).

#include "bg/core/api.h"
#include "bg/nn/optim/optimizer.h"

BG_API_BEGIN

namespace bg::optim {

struct AdagradOptions : public OptimizerCloneableOptions<AdagradOptions> {
  AdagradOptions(double lr = 1e-2) : lr_(lr) {}  // NOLINT: `Adagrad a(params, 1e-2)` reads well
  BG_ARG(double, lr);
  /// The learning rate of step t is lr / (1 + (t - 1) lr_decay).
  BG_ARG(double, lr_decay) = 0.0;
  BG_ARG(double, weight_decay) = 0.0;
  /// The starting value of the sum of squared gradients.
  BG_ARG(double, initial_accumulator_value) = 0.0;
  BG_ARG(double, eps) = 1e-10;
  /// Follow the gradient up instead of down.
  BG_ARG(bool, maximize) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void visit(HyperparameterVisitor& visitor) override;
  void check(const std::string& optimizer) const override;
};

/// g = grad (+ weight_decay * param); sum += g^2; param -= lr_t * g / (sqrt(sum) + eps) with
/// lr_t = lr / (1 + (t - 1) lr_decay).
class Adagrad : public Optimizer {
 public:
  explicit Adagrad(std::vector<Tensor> params, const AdagradOptions& defaults = {});
  explicit Adagrad(std::vector<OptimizerParamGroup> param_groups,
                   const AdagradOptions& defaults = {});

 protected:
  void update(const Tensor& param, ParamState& state, const OptimizerOptions& options) override;
  std::vector<std::string> buffer_names(const OptimizerOptions& options) const override;
};

}  // namespace bg::optim

BG_API_END
