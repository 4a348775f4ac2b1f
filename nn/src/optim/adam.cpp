#include "bg/nn/optim/adam.h"

#include "optim/internal.h"

namespace bg::optim {

void AdamOptions::visit(HyperparameterVisitor& visitor) {
  visitor.visit("lr", lr_);
  visitor.visit("betas", betas_);
  visitor.visit("eps", eps_);
  visitor.visit("weight_decay", weight_decay_);
  visitor.visit("amsgrad", amsgrad_);
  visitor.visit("maximize", maximize_);
}

void AdamOptions::check(const std::string& optimizer) const {
  detail::check_non_negative(optimizer, "lr", lr_);
  detail::check_non_negative(optimizer, "eps", eps_);
  detail::check_betas(optimizer, betas_);
  detail::check_non_negative(optimizer, "weight_decay", weight_decay_);
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& defaults)
    : Adam(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

Adam::Adam(std::vector<OptimizerParamGroup> param_groups, const AdamOptions& defaults)
    : Optimizer("Adam", std::move(param_groups), defaults.clone()) {}

void Adam::update(const Tensor& param, ParamState& state, const OptimizerOptions& options) {
  const auto& o = static_cast<const AdamOptions&>(options);
  fused::AdamHyper hyper;
  hyper.lr = o.lr();
  hyper.beta1 = std::get<0>(o.betas());
  hyper.beta2 = std::get<1>(o.betas());
  hyper.eps = o.eps();
  hyper.weight_decay = o.weight_decay();
  hyper.amsgrad = o.amsgrad();
  hyper.maximize = o.maximize();
  hyper.step = state.step;
  detail::adam_update(param, state, hyper);
}

std::vector<std::string> Adam::buffer_names(const OptimizerOptions& options) const {
  if (static_cast<const AdamOptions&>(options).amsgrad()) {
    return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  }
  return {"exp_avg", "exp_avg_sq"};
}

namespace detail {

void adam_update(const Tensor& param, ParamState& state, const fused::AdamHyper& hyper) {
  const Tensor exp_avg = buffer(state, "exp_avg", param);
  const Tensor exp_avg_sq = buffer(state, "exp_avg_sq", param);
  const Tensor max_exp_avg_sq = hyper.amsgrad ? buffer(state, "max_exp_avg_sq", param) : Tensor();
  fused::adam_step(param, param.grad(), exp_avg, exp_avg_sq, max_exp_avg_sq, hyper);
}

}  // namespace detail

}  // namespace bg::optim
