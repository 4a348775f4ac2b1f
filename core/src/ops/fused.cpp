// Fused optimizer updates (fused.h): argument checks, then one backend kernel per step.

#include "bg/core/fused.h"

#include <vector>

#include "bg/core/grad_mode.h"
#include "ops/op_utils.h"

namespace bg::fused {

namespace {

// A tensor an update writes, with the name error messages give it.
struct Written {
  const char* name;
  Tensor tensor;
};

// Checks the operands of one update: the parameter (the first tensor written) is a float32 or
// float64 tensor; the gradient and every state tensor match it; the tensors written may be written
// without autograd and share memory with no other operand.
void check_update(const char* op, const Tensor& grad, const std::vector<Written>& written) {
  const Tensor& param = written.front().tensor;
  detail::check_defined(op, param, "param");
  detail::check_floating(op, param);
  detail::check_defined(op, grad, "grad");
  BG_CHECK(grad.sizes() == param.sizes() && grad.dtype() == param.dtype() &&
               grad.device() == param.device(),
           op, "grad ", describe(grad), " does not match param ", describe(param),
           " (expected the same sizes, dtype and device)");
  for (const Written& w : written) {
    detail::check_defined(op, w.tensor, w.name);
    BG_CHECK(w.tensor.sizes() == param.sizes() && w.tensor.dtype() == param.dtype() &&
                 w.tensor.device() == param.device(),
             op, w.name, " ", describe(w.tensor), " does not match param ", describe(param),
             " (expected the same sizes, dtype and device)");
  }
  for (const Written& w : written) {
    const Tensor& t = w.tensor;
    BG_CHECK(!(GradMode::is_enabled() && t.requires_grad()), op, w.name, " ", describe(t),
             " requires grad and grad mode is on: run optimizer updates under bg::NoGradGuard");
    for (int64_t d = 0; d < t.dim(); ++d) {
      BG_CHECK(t.size(d) <= 1 || t.stride(d) != 0, op, w.name, " ", describe(t),
               " is an expanded view whose elements share memory; clone() it before updating");
    }
    BG_CHECK(!detail::shares_storage(t, grad), op, w.name, " ", describe(t),
             " shares memory with grad ", describe(grad));
    for (const Written& other : written) {
      BG_CHECK(&other == &w || !detail::shares_storage(t, other.tensor), op, w.name, " ",
               describe(t), " shares memory with ", other.name, " ", describe(other.tensor));
    }
  }
}

// The tensors an update wrote have new values (Note [Version counter]).
void bump_versions(const std::vector<Written>& written) {
  for (const Written& w : written) w.tensor.impl()->storage()->bump_version();
}

void check_step_count(const char* op, int64_t step) {
  BG_CHECK(step >= 1, op, "the step number counts from 1, got ", step);
}

}  // namespace

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
              const SgdHyper& hyper) {
  const bool use_momentum = hyper.momentum != 0.0;
  std::vector<Written> written = {{"param", param}};
  if (use_momentum) written.push_back({"momentum_buffer", momentum_buffer});
  check_update("sgd_step", grad, written);
  detail::backend_of(param).sgd_update(param, grad, use_momentum ? momentum_buffer : Tensor(),
                                       hyper);
  bump_versions(written);
}

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, const AdamHyper& hyper) {
  check_step_count("adam_step", hyper.step);
  std::vector<Written> written = {
      {"param", param}, {"exp_avg", exp_avg}, {"exp_avg_sq", exp_avg_sq}};
  if (hyper.amsgrad) written.push_back({"max_exp_avg_sq", max_exp_avg_sq});
  check_update("adam_step", grad, written);
  detail::backend_of(param).adam_update(param, grad, exp_avg, exp_avg_sq,
                                        hyper.amsgrad ? max_exp_avg_sq : Tensor(), hyper);
  bump_versions(written);
}

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                  const Tensor& momentum_buffer, const Tensor& grad_avg,
                  const RmspropHyper& hyper) {
  const bool use_momentum = hyper.momentum > 0.0;
  std::vector<Written> written = {{"param", param}, {"square_avg", square_avg}};
  if (use_momentum) written.push_back({"momentum_buffer", momentum_buffer});
  if (hyper.centered) written.push_back({"grad_avg", grad_avg});
  check_update("rmsprop_step", grad, written);
  detail::backend_of(param).rmsprop_update(param, grad, square_avg,
                                           use_momentum ? momentum_buffer : Tensor(),
                                           hyper.centered ? grad_avg : Tensor(), hyper);
  bump_versions(written);
}

void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& sum,
                  const AdagradHyper& hyper) {
  check_step_count("adagrad_step", hyper.step);
  const std::vector<Written> written = {{"param", param}, {"sum", sum}};
  check_update("adagrad_step", grad, written);
  detail::backend_of(param).adagrad_update(param, grad, sum, hyper);
  bump_versions(written);
}

}  // namespace bg::fused
