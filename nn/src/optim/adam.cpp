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
  detail::check_adam_options(*this, optimizer);
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& defaults)
    : Adam(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

Adam::Adam(std::vector<OptimizerParamGroup> param_groups, const AdamOptions& defaults)
    : Optimizer("Adam", std::move(param_groups), defaults.clone()) {}

void Adam::update(const Tensor& param, ParamState& state, const OptimizerOptions& options) {
  detail::adam_update(param, state, static_cast<const AdamOptions&>(options),
                      /*decoupled_weight_decay=*/false);
}

std::vector<std::string> Adam::buffer_names(const OptimizerOptions& options) const {
  return detail::adam_buffer_names(static_cast<const AdamOptions&>(options).amsgrad());
}

namespace detail {

void adam_update(const Tensor& param, ParamState& state, const fused::AdamHyper& hyper) {
  const Tensor exp_avg = buffer(state, "exp_avg", param);
  const Tensor exp_avg_sq = buffer(state, "exp_avg_sq", param);
  const Tensor max_exp_avg_sq = hyper.amsgrad ? buffer(state, "max_exp_avg_sq", param) : Tensor();
  fused::adam_step(param, param.grad(), exp_avg, exp_avg_sq, max_exp_avg_sq, hyper);
}

std::vector<std::string> adam_buffer_names(bool amsgrad) {
  if (amsgrad) return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
  return {"exp_avg", "exp_avg_sq"};
}

}  // namespace detail

}  // namespace bg::optim
