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
  detail::check_adam_options(*this, optimizer);
}

AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& defaults)
    : AdamW(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

AdamW::AdamW(std::vector<OptimizerParamGroup> param_groups, const AdamWOptions& defaults)
    : Optimizer("AdamW", std::move(param_groups), defaults.clone()) {}

void AdamW::update(const Tensor& param, ParamState& state, const OptimizerOptions& options) {
  detail::adam_update(param, state, static_cast<const AdamWOptions&>(options),
                      /*decoupled_weight_decay=*/true);
}

std::vector<std::string> AdamW::buffer_names(const OptimizerOptions& options) const {
  return detail::adam_buffer_names(static_cast<const AdamWOptions&>(options).amsgrad());
}

}  // namespace bg::optim
