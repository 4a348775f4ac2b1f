#pragma once
// Fused optimizer updates: one pass over a parameter, its gradient and its state tensors.
//
// Each function applies one step of an optimizer family to one parameter, in place, with the
// update rule of PyTorch 1.13's single-tensor implementation, instead of the chain of temporary
// tensors the same formula takes as Tensor ops. The state tensors are the caller's (nn's optimizers
// create and keep them); the numbers that depend on the step count (bias corrections, decayed
// learning rates) are computed here from `step`.
//
// All operands must have the parameter's sizes, dtype (float32 or float64) and device; any strides
// are accepted, but the tensors written (the parameter and the state) may not share memory with
// one another or with the gradient. They are updated without recording autograd history, so a
// parameter that requires grad can only be updated with grad mode off (under bg::NoGradGuard).
//
// On the CPU the arithmetic is done in the parameter's dtype and rounds exactly like the Tensor-op
// formula written in PyTorch's order (no fused multiply-add contraction), so both give the same
// bits. A backend without fused optimizer kernels (Backend::optimizer_kernels() is null) runs that
// formula itself.

#include <cmath>
#include <cstdint>

#include "bg/core/api.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg::fused {

/// SGD with momentum, as torch.optim.SGD.
struct SgdHyper {
  double lr = 0.0;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool maximize = false;
  /// The momentum buffer holds nothing yet and receives the first step's direction, as PyTorch
  /// initializes it.
  bool init_momentum_buffer = false;
};

/// One SGD step. `momentum_buffer` is used (and must be defined) only when momentum is nonzero.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
              const SgdHyper& hyper);

/// Adam, and AdamW when the weight decay is decoupled, as torch.optim.Adam and AdamW.
struct AdamHyper {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
  bool maximize = false;
  /// AdamW: the parameter is multiplied by 1 - lr * weight_decay instead of weight_decay * param
  /// being added to the gradient.
  bool decoupled_weight_decay = false;
  /// The number of this step, counting from 1 (what the bias corrections use).
  int64_t step = 1;

  /// lr / (1 - beta1^step): the step size of the bias-corrected first moment.
  double step_size() const { return lr / (1.0 - std::pow(beta1, static_cast<double>(step))); }
  /// sqrt(1 - beta2^step): the bias correction of the second moment's square root.
  double bias_correction2_sqrt() const {
    return std::sqrt(1.0 - std::pow(beta2, static_cast<double>(step)));
  }
};

/// One Adam step. `max_exp_avg_sq` is used (and must be defined) only with amsgrad.
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, const AdamHyper& hyper);

/// RMSprop, as torch.optim.RMSprop.
struct RmspropHyper {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
  bool maximize = false;
};

/// One RMSprop step. `momentum_buffer` is used (and must be defined) only when momentum is
/// positive, `grad_avg` only when centered.
void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                  const Tensor& momentum_buffer, const Tensor& grad_avg, const RmspropHyper& hyper);

/// Adagrad, as torch.optim.Adagrad.
struct AdagradHyper {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double eps = 1e-10;
  bool maximize = false;
  /// The number of this step, counting from 1 (what the learning-rate decay uses).
  int64_t step = 1;

  /// The decayed learning rate of this step, lr / (1 + (step - 1) lr_decay).
  double decayed_lr() const { return lr / (1.0 + static_cast<double>(step - 1) * lr_decay); }
};

/// One Adagrad step.
void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& sum,
                  const AdagradHyper& hyper);

}  // namespace bg::fused

BG_API_END
