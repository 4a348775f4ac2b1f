#include "bg/nn/optim/adamw.h"

#include "optim/internal.h"

namespace bg::optim {

void AdamWOptions::visit(HyperparameterVisitor& visitor) {
  visitor.visit("lr", lr_);
  visitor.visit("betas", betas_);
  visitor.visit("eps", eps_);
  visitor.visit("weight_decay", weight_decay_);
  visitor.visit("amsgrad", amsgrad_);
  visitor.visit("maximize", maximize_);
}

void AdamWOptions::check(const std::string& optimizer) const {
  detail::check_non_negative(optimizer, "lr", lr_);
  detail::check_non_negative(optimizer, "eps", eps_);
  detail::check_betas(optimizer, betas_);
  detail::check_non_negative(optimizer, "weight_decay", weight_decay_);
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& defaults)
    : AdamW(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

AdamW::AdamW(std::vector<OptimizerParamGroup> param_groups, const AdamWOptions& defaults)
    : Optimizer("AdamW", std::move(param_groups), defaults.clone()) {}

void AdamW::update(const Tensor& param, ParamState& state, const OptimizerOptions& options) {
  const auto& o = static_cast<const AdamWOptions&>(options);
  fused::AdamHyper hyper;
  hyper.lr = o.lr();
  hyper.beta1 = std::get<0>(o.betas());
  hyper.beta2 = std::get<1>(o.betas());
  hyper.eps = o.eps();
  hyper.weight_decay = o.weight_decay();
  hyper.amsgrad = o.amsgrad();
  hyper.maximize = o.maximize();
  hyper.decoupled_weight_decay = true;
  hyper.step = state.step;
  detail::adam_update(param, state, hyper);
}

std::vector<std::string> AdamW::buffer_names(const OptimizerOptions& options) const {
  if (static_cast<const AdamWOptions&>(options).amsgrad()) {
    return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  }
  return {"exp_avg", "exp_avg_sq"};
}

}  // namespace bg::optim
