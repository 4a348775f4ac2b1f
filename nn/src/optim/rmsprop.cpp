#include "bg/nn/optim/rmsprop.h"

#include "optim/internal.h"

namespace bg::optim {

void RMSpropOptions::visit(HyperparameterVisitor& visitor) {
  visitor.visit("lr", lr_);
  visitor.visit("alpha", alpha_);
  visitor.visit("eps", eps_);
  visitor.visit("weight_decay", weight_decay_);
  visitor.visit("momentum", momentum_);
  visitor.visit("centered", centered_);
  visitor.visit("maximize", maximize_);
}

void RMSpropOptions::check(const std::string& optimizer) const {
  detail::check_non_negative(optimizer, "lr", lr_);
  detail::check_non_negative(optimizer, "eps", eps_);
  detail::check_non_negative(optimizer, "momentum", momentum_);
  detail::check_non_negative(optimizer, "weight_decay", weight_decay_);
  detail::check_non_negative(optimizer, "alpha", alpha_);
}

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults)
    : RMSprop(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

RMSprop::RMSprop(std::vector<OptimizerParamGroup> param_groups, const RMSpropOptions& defaults)
    : Optimizer("RMSprop", std::move(param_groups), defaults.clone()) {}

void RMSprop::update(const Tensor& param, ParamState& state, const OptimizerOptions& options) {
  const auto& o = static_cast<const RMSpropOptions&>(options);
  fused::RmspropHyper hyper;
  hyper.lr = o.lr();
  hyper.alpha = o.alpha();
  hyper.eps = o.eps();
  hyper.weight_decay = o.weight_decay();
  hyper.momentum = o.momentum();
  hyper.centered = o.centered();
  hyper.maximize = o.maximize();
  const Tensor square_avg = detail::buffer(state, "square_avg", param);
  const Tensor momentum_buffer =
      o.momentum() > 0.0 ? detail::buffer(state, "momentum_buffer", param) : Tensor();
  const Tensor grad_avg = o.centered() ? detail::buffer(state, "grad_avg", param) : Tensor();
  fused::rmsprop_step(param, param.grad(), square_avg, momentum_buffer, grad_avg, hyper);
}

std::vector<std::string> RMSprop::buffer_names(const OptimizerOptions& options) const {
  const auto& o = static_cast<const RMSpropOptions&>(options);
  std::vector<std::string> names = {"square_avg"};
  if (o.momentum() > 0.0) names.push_back("momentum_buffer");
  if (o.centered()) names.push_back("grad_avg");
  return names;
}

}  // namespace bg::optim
