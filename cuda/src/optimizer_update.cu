// Fused optimizer updates: one kernel over a parameter, its gradient and its state, with the
// formulas and the order of operations of the CPU (cpu/optimizer_update.cpp: PyTorch 1.13's
// single-tensor optimizers). This file is built without fused multiply-add contraction, and
// CUDA's sqrt and division are correctly rounded, so an update has the same bits on both devices.
//
// Operands a step leaves unused are undefined; the parameter stands in for them (as on the CPU)
// so every variant walks the same operands, and the update never touches a stand-in.

#include <cmath>

#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

const Tensor* or_param(const Tensor& optional, const Tensor& param) {
  return optional.defined() ? &optional : &param;
}

// torch.maximum: NaN wins.
template <typename T>
__device__ T maximum(T a, T b) {
  return isnan(a) || isnan(b) ? a + b : (a > b ? a : b);
}

template <typename T>
struct Sgd {
  T sign, weight_decay, momentum, damped, neg_lr;
  bool decay, use_momentum, init_buffer, nesterov;

  __device__ void operator()(T& p, T& g, T& buf) const {
    T d = g * sign;
    if (decay) d = d + weight_decay * p;
    if (use_momentum) {
      buf = init_buffer ? d : buf * momentum + damped * d;
      d = nesterov ? d + momentum * buf : buf;
    }
    p = p + neg_lr * d;
  }
};

template <typename T>
struct Adam {
  T sign, weight_decay, decay, beta1, beta2, one_minus_beta1, one_minus_beta2;
  T bias_correction2_sqrt, eps, neg_step_size;
  bool coupled_decay, amsgrad;

  __device__ void operator()(T& p, T& grad, T& m, T& v, T& v_max) const {
    T g = grad * sign;
    p = p * decay;
    if (coupled_decay) g = g + weight_decay * p;
    m = m * beta1 + one_minus_beta1 * g;
    v = v * beta2 + one_minus_beta2 * g * g;
    T second_moment = v;
    if (amsgrad) second_moment = v_max = maximum(v_max, v);
    const T denom = sqrt(second_moment) / bias_correction2_sqrt + eps;
    p = p + neg_step_size * m / denom;
  }
};

template <typename T>
struct Rmsprop {
  T sign, weight_decay, alpha, one_minus_alpha, eps, momentum, neg_lr;
  bool decay, use_momentum, centered;

  __device__ void operator()(T& p, T& grad, T& square, T& buf, T& average) const {
    T g = grad * sign;
    if (decay) g = g + weight_decay * p;
    square = square * alpha + one_minus_alpha * g * g;
    T variance = square;
    if (centered) {
      average = average * alpha + one_minus_alpha * g;
      variance = square + -average * average;
    }
    const T avg = sqrt(variance) + eps;
    if (use_momentum) {
      buf = buf * momentum + g / avg;
      p = p + neg_lr * buf;
    } else {
      p = p + neg_lr * g / avg;
    }
  }
};

template <typename T>
struct Adagrad {
  T sign, weight_decay, eps, neg_lr;
  bool decay;

  __device__ void operator()(T& p, T& grad, T& s) const {
    T g = grad * sign;
    if (decay) g = g + weight_decay * p;
    s = s + g * g;
    const T root = sqrt(s) + eps;
    p = p + neg_lr * g / root;
  }
};

// maximize negates the gradient: a multiplication by -1 or 1, exact.
template <typename T>
T gradient_sign(bool maximize) {
  return maximize ? T(-1) : T(1);
}

}  // namespace

void CudaBackend::sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                             const fused::SgdHyper& h) {
  use_device(param.device(), "sgd_step");
  dispatch_floating(param.dtype(), "sgd_step", [&](auto tag) {
    using T = decltype(tag);
    const Sgd<T> step{gradient_sign<T>(h.maximize),
                      static_cast<T>(h.weight_decay),
                      static_cast<T>(h.momentum),
                      static_cast<T>(1.0 - h.dampening),
                      static_cast<T>(-h.lr),
                      h.weight_decay != 0.0,
                      h.momentum != 0.0,
                      h.init_momentum_buffer,
                      h.nesterov};
    update<T, 3>("sgd_step", {&param, &grad, or_param(momentum_buffer, param)}, step);
  });
}

void CudaBackend::adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                              const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                              const fused::AdamHyper& h) {
  use_device(param.device(), "adam_step");
  dispatch_floating(param.dtype(), "adam_step", [&](auto tag) {
    using T = decltype(tag);
    // AdamW scales the parameter first; for Adam the factor 1 leaves it exactly as it is.
    const T decay = h.decoupled_weight_decay ? static_cast<T>(1.0 - h.lr * h.weight_decay) : T(1);
    const Adam<T> step{gradient_sign<T>(h.maximize),
                       static_cast<T>(h.weight_decay),
                       decay,
                       static_cast<T>(h.beta1),
                       static_cast<T>(h.beta2),
                       static_cast<T>(1.0 - h.beta1),
                       static_cast<T>(1.0 - h.beta2),
                       static_cast<T>(h.bias_correction2_sqrt()),
                       static_cast<T>(h.eps),
                       static_cast<T>(-h.step_size()),
                       !h.decoupled_weight_decay && h.weight_decay != 0.0,
                       h.amsgrad};
    update<T, 5>("adam_step",
                 {&param, &grad, &exp_avg, &exp_avg_sq, or_param(max_exp_avg_sq, param)}, step);
  });
}

void CudaBackend::rmsprop_update(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                                 const Tensor& momentum_buffer, const Tensor& grad_avg,
                                 const fused::RmspropHyper& h) {
  use_device(param.device(), "rmsprop_step");
  dispatch_floating(param.dtype(), "rmsprop_step", [&](auto tag) {
    using T = decltype(tag);
    const Rmsprop<T> step{gradient_sign<T>(h.maximize),
                          static_cast<T>(h.weight_decay),
                          static_cast<T>(h.alpha),
                          static_cast<T>(1.0 - h.alpha),
                          static_cast<T>(h.eps),
                          static_cast<T>(h.momentum),
                          static_cast<T>(-h.lr),
                          h.weight_decay != 0.0,
                          h.momentum > 0.0,
                          h.centered};
    update<T, 5>(
        "rmsprop_step",
        {&param, &grad, &square_avg, or_param(momentum_buffer, param), or_param(grad_avg, param)},
        step);
  });
}

void CudaBackend::adagrad_update(const Tensor& param, const Tensor& grad, const Tensor& sum,
                                 const fused::AdagradHyper& h) {
  use_device(param.device(), "adagrad_step");
  dispatch_floating(param.dtype(), "adagrad_step", [&](auto tag) {
    using T = decltype(tag);
    const Adagrad<T> step{gradient_sign<T>(h.maximize), static_cast<T>(h.weight_decay),
                          static_cast<T>(h.eps), static_cast<T>(-h.decayed_lr()),
                          h.weight_decay != 0.0};
    update<T, 3>("adagrad_step", {&param, &grad, &sum}, step);
  });
}

}  // namespace bg::cuda
