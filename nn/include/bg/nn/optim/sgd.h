#pragma once
// SGD: stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay
// (torch.optim.SGD).

#include "bg/core/api.h"
#include "bg/nn/optim/optimizer.h"

BG_API_BEGIN

namespace bg::optim {

struct SGDOptions : public OptimizerCloneableOptions<SGDOptions> {
  SGDOptions(double lr) : lr_(lr) {}  // NOLINT: `SGD sgd(params, 0.1)` reads well
  BG_ARG(double, lr);
  BG_ARG(double, momentum) = 0.0;
  BG_ARG(double, dampening) = 0.0;
  BG_ARG(double, weight_decay) = 0.0;
  /// Nesterov momentum; needs momentum > 0 and dampening 0.
  BG_ARG(bool, nesterov) = false;
  /// Follow the gradient up instead of down.
  BG_ARG(bool, maximize) = false;

 public:
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  void visit(HyperparameterVisitor& visitor) override;
  void check(const std::string& optimizer) const override;
};

/// d = grad (+ weight_decay * param); with momentum, buf = momentum * buf + (1 - dampening) * d
/// (buf = d at the first step) and d = buf, or d + momentum * buf with Nesterov; then
/// param -= lr * d.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& defaults);
  SGD(std::vector<OptimizerParamGroup> param_groups, const SGDOptions& defaults);

 protected:
  void update(const Tensor& param, ParamState& state, const OptimizerOptions& options) override;
  std::vector<std::string> buffer_names(const OptimizerOptions& options) const override;
};

}  // namespace bg::optim

BG_API_END
