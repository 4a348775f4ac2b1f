#pragma once
// Adam (torch.optim.Adam), with L2 weight decay added to the gradient and the AMSGrad variant.

#include <tuple>

#include "bg/core/api.h"
#include "bg/nn/optim/optimizer.h"

BG_API_BEGIN

namespace bg::optim {

struct AdamOptions : public OptimizerCloneableOptions<AdamOptions> {
  AdamOptions(double lr = 1e-3) : lr_(lr) {}  // NOLINT: `Adam adam(params, 1e-3)` reads well
  using betas_t = std::tuple<double, double>;
  BG_ARG(double, lr);
  BG_ARG(betas_t, betas) = {0.9, 0.999};
  BG_ARG(double, eps) = 1e-8;
  BG_ARG(double, weight_decay) = 0.0;
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

/// g = grad (+ weight_decay * param); m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
/// param -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps), with v replaced by its
/// running maximum under AMSGrad.
class Adam : public Optimizer {
 public:
  explicit Adam(std::vector<Tensor> params, const AdamOptions& defaults = {});
  explicit Adam(std::vector<OptimizerParamGroup> param_groups, const AdamOptions& defaults = {});

 protected:
  void update(const Tensor& param, ParamState& state, const OptimizerOptions& options) override;
  std::vector<std::string> buffer_names(const OptimizerOptions& options) const override;
};

}  // namespace bg::optim

BG_API_END
