#include "bg/nn/optim/sgd.h"

#include "optim/internal.h"

namespace bg::optim {

void SGDOptions::visit(HyperparameterVisitor& visitor) {
  visitor.visit("lr", lr_);
  visitor.visit("momentum", momentum_);
  visitor.visit("dampening", dampening_);
  visitor.visit("weight_decay", weight_decay_);
  visitor.visit("nesterov", nesterov_);
  visitor.visit("maximize", maximize_);
}

void SGDOptions::check(const std::string& optimizer) const {
  detail::check_non_negative(optimizer, "lr", lr_);
  detail::check_non_negative(optimizer, "momentum", momentum_);
  detail::check_non_negative(optimizer, "weight_decay", weight_decay_);
  BG_CHECK(!nesterov_ || (momentum_ > 0.0 && dampening_ == 0.0), optimizer,
           "Nesterov momentum requires a momentum and zero dampening, got momentum ", momentum_,
           " and dampening ", dampening_);
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& defaults)
    : SGD(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

SGD::SGD(std::vector<OptimizerParamGroup> param_groups, const SGDOptions& defaults)
    : Optimizer("SGD", std::move(param_groups), defaults.clone()) {}

void SGD::update(const Tensor& param, ParamState& state, const OptimizerOptions& options) {
  const auto& o = static_cast<const SGDOptions&>(options);
  fused::SgdHyper hyper;
  hyper.lr = o.lr();
  hyper.momentum = o.momentum();
  hyper.dampening = o.dampening();
  hyper.weight_decay = o.weight_decay();
  hyper.nesterov = o.nesterov();
  hyper.maximize = o.maximize();
  Tensor momentum_buffer;
  if (o.momentum() != 0.0) {
    hyper.init_momentum_buffer = !state.buffers.contains("momentum_buffer");
    momentum_buffer = detail::buffer(state, "momentum_buffer", param);
  }
  fused::sgd_step(param, param.grad(), momentum_buffer, hyper);
}

std::vector<std::string> SGD::buffer_names(const OptimizerOptions& options) const {
  const auto& o = static_cast<const SGDOptions&>(options);
  if (o.momentum() != 0.0) return {"momentum_buffer"};
  return {};
}

}  // namespace bg::optim
