// Fused optimizer updates (fused.h): argument checks, then one backend kernel per step, or, on a
// backend without fused optimizer kernels, the same update rule composed of Tensor ops.

#include "bg/core/fused.h"

#include <vector>

#include "bg/core/grad_mode.h"
#include "bg/core/object_pool.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg::fused {

namespace {

// A tensor an update writes, with the name error messages give it.
struct Written {
  const char* name;
  Tensor tensor;
};
// One update's, pooled (Note [Object pool]): an optimizer step makes one per parameter.
using WrittenList = std::vector<Written, detail::PoolAllocator<Written>>;

// Checks the operands of one update: the parameter (the first tensor written) is a float32 or
// float64 tensor; the gradient and every state tensor match it; the tensors written may be written
// without autograd and share memory with no other operand.
void check_update(const char* op, const Tensor& grad, const WrittenList& written) {
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
void bump_versions(const WrittenList& written) {
  for (const Written& w : written) w.tensor.impl()->storage()->bump_version();
}

void check_step_count(const char* op, int64_t step) {
  BG_CHECK(step >= 1, op, "the step number counts from 1, got ", step);
}

// ---- The update rules as Tensor ops ------------------------------------------------------------
// What a backend without OptimizerKernels runs: PyTorch 1.13's single-tensor updates, in PyTorch's
// order (a.add(b, alpha=c) is a + b * c, addcmul(t1, t2, value=c) is a + t1 * c * t2, addcdiv
// alike), with in-place ops that bump the versions of the tensors they write. The fused kernels
// round the same way (fused.h), so both paths give the same bits.

void composed_sgd(Tensor param, const Tensor& grad, Tensor buffer, const SgdHyper& h) {
  Tensor d = h.maximize ? -grad : grad;
  if (h.weight_decay != 0) d = d + param * h.weight_decay;
  if (h.momentum != 0) {
    if (h.init_momentum_buffer) {
      buffer.copy_(d);
    } else {
      buffer.mul_(h.momentum).add_(d * (1 - h.dampening));
    }
    d = h.nesterov ? d + buffer * h.momentum : buffer;
  }
  param.add_(d * -h.lr);
}

void composed_adam(Tensor param, const Tensor& grad, Tensor exp_avg, Tensor exp_avg_sq,
                   Tensor max_exp_avg_sq, const AdamHyper& h) {
  Tensor g = h.maximize ? -grad : grad;
  if (h.decoupled_weight_decay) {
    param.mul_(1 - h.lr * h.weight_decay);
  } else if (h.weight_decay != 0) {
    g = g + param * h.weight_decay;
  }
  exp_avg.mul_(h.beta1).add_(g * (1 - h.beta1));
  exp_avg_sq.mul_(h.beta2).add_(g * (1 - h.beta2) * g);
  Tensor second = exp_avg_sq;
  if (h.amsgrad) {
    max_exp_avg_sq.copy_(maximum(max_exp_avg_sq, exp_avg_sq));
    second = max_exp_avg_sq;
  }
  const Tensor denom = second.sqrt() / h.bias_correction2_sqrt() + h.eps;
  param.add_(exp_avg * -h.step_size() / denom);
}

void composed_rmsprop(Tensor param, const Tensor& grad, Tensor square_avg, Tensor buffer,
                      Tensor grad_avg, const RmspropHyper& h) {
  Tensor g = h.maximize ? -grad : grad;
  if (h.weight_decay != 0) g = g + param * h.weight_decay;
  square_avg.mul_(h.alpha).add_(g * (1 - h.alpha) * g);
  Tensor variance = square_avg;
  if (h.centered) {
    grad_avg.mul_(h.alpha).add_(g * (1 - h.alpha));
    variance = square_avg + -grad_avg * grad_avg;
  }
  const Tensor avg = variance.sqrt() + h.eps;
  if (h.momentum > 0) {
    buffer.mul_(h.momentum).add_(g / avg);
    param.add_(buffer * -h.lr);
  } else {
    param.add_(g * -h.lr / avg);
  }
}

void composed_adagrad(Tensor param, const Tensor& grad, Tensor sum, const AdagradHyper& h) {
  Tensor g = h.maximize ? -grad : grad;
  if (h.weight_decay != 0) g = g + param * h.weight_decay;
  sum.add_(g * g);
  param.add_(g * -h.decayed_lr() / (sum.sqrt() + h.eps));
}

}  // namespace

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
              const SgdHyper& hyper) {
  const bool use_momentum = hyper.momentum != 0.0;
  WrittenList written = {{"param", param}};
  if (use_momentum) written.push_back({"momentum_buffer", momentum_buffer});
  check_update("sgd_step", grad, written);
  const Tensor buffer = use_momentum ? momentum_buffer : Tensor();
  if (OptimizerKernels* kernels = detail::backend_of(param).optimizer_kernels()) {
    kernels->sgd_update(param, grad, buffer, hyper);
    bump_versions(written);
  } else {
    NoGradGuard no_grad;
    composed_sgd(param, grad, buffer, hyper);
  }
}

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, const AdamHyper& hyper) {
  check_step_count("adam_step", hyper.step);
  WrittenList written = {{"param", param}, {"exp_avg", exp_avg}, {"exp_avg_sq", exp_avg_sq}};
  if (hyper.amsgrad) written.push_back({"max_exp_avg_sq", max_exp_avg_sq});
  check_update("adam_step", grad, written);
  const Tensor max_sq = hyper.amsgrad ? max_exp_avg_sq : Tensor();
  if (OptimizerKernels* kernels = detail::backend_of(param).optimizer_kernels()) {
    kernels->adam_update(param, grad, exp_avg, exp_avg_sq, max_sq, hyper);
    bump_versions(written);
  } else {
    NoGradGuard no_grad;
    composed_adam(param, grad, exp_avg, exp_avg_sq, max_sq, hyper);
  }
}

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                  const Tensor& momentum_buffer, const Tensor& grad_avg,
                  const RmspropHyper& hyper) {
  const bool use_momentum = hyper.momentum > 0.0;
  WrittenList written = {{"param", param}, {"square_avg", square_avg}};
  if (use_momentum) written.push_back({"momentum_buffer", momentum_buffer});
  if (hyper.centered) written.push_back({"grad_avg", grad_avg});
  check_update("rmsprop_step", grad, written);
  const Tensor buffer = use_momentum ? momentum_buffer : Tensor();
  const Tensor average = hyper.centered ? grad_avg : Tensor();
  if (OptimizerKernels* kernels = detail::backend_of(param).optimizer_kernels()) {
    kernels->rmsprop_update(param, grad, square_avg, buffer, average, hyper);
    bump_versions(written);
  } else {
    NoGradGuard no_grad;
    composed_rmsprop(param, grad, square_avg, buffer, average, hyper);
  }
}

void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& sum,
                  const AdagradHyper& hyper) {
  check_step_count("adagrad_step", hyper.step);
  const WrittenList written = {{"param", param}, {"sum", sum}};
  check_update("adagrad_step", grad, written);
  if (OptimizerKernels* kernels = detail::backend_of(param).optimizer_kernels()) {
    kernels->adagrad_update(param, grad, sum, hyper);
    bump_versions(written);
  } else {
    NoGradGuard no_grad;
    composed_adagrad(param, grad, sum, hyper);
  }
}

}  // namespace bg::fused
