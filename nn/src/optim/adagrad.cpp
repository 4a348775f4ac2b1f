#include "bg/nn/optim/adagrad.h"

#include "optim/internal.h"

namespace bg::optim {

void AdagradOptions::visit(HyperparameterVisitor& visitor) {
  visitor.visit("lr", lr_);
  visitor.visit("lr_decay", lr_decay_);
  visitor.visit("weight_decay", weight_decay_);
  visitor.visit("initial_accumulator_value", initial_accumulator_value_);
  visitor.visit("eps", eps_);
  visitor.visit("maximize", maximize_);
}

void AdagradOptions::check(const std::string& optimizer) const {
  detail::check_non_negative(optimizer, "lr", lr_);
  detail::check_non_negative(optimizer, "lr_decay", lr_decay_);
  detail::check_non_negative(optimizer, "weight_decay", weight_decay_);
  detail::check_non_negative(optimizer, "initial_accumulator_value", initial_accumulator_value_);
  detail::check_non_negative(optimizer, "eps", eps_);
}

Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& defaults)
    : Adagrad(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

Adagrad::Adagrad(std::vector<OptimizerParamGroup> param_groups, const AdagradOptions& defaults)
    : Optimizer("Adagrad", std::move(param_groups), defaults.clone()) {}

void Adagrad::update(const Tensor& param, ParamState& state, const OptimizerOptions& options) {
  const auto& o = static_cast<const AdagradOptions&>(options);
  fused::AdagradHyper hyper;
  hyper.lr = o.lr();
  hyper.lr_decay = o.lr_decay();
  hyper.weight_decay = o.weight_decay();
  hyper.eps = o.eps();
  hyper.maximize = o.maximize();
  hyper.step = state.step;
  const Tensor sum = detail::buffer(state, "sum", param, o.initial_accumulator_value());
  fused::adagrad_step(param, param.grad(), sum, hyper);
}

std::vector<std::string> Adagrad::buffer_names(const OptimizerOptions&) const { return {"sum"}; }

}  // namespace bg::optim
