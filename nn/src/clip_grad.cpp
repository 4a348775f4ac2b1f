#include "bg/nn/clip_grad.h"

#include <cmath>

namespace bg::nn::utils {

namespace {

// The defined gradients of `parameters`.
std::vector<Tensor> gradients(const char* op, const std::vector<Tensor>& parameters) {
  std::vector<Tensor> grads;
  for (size_t i = 0; i < parameters.size(); ++i) {
    BG_CHECK(parameters[i].defined(), op, "parameter ", i, " is an undefined tensor");
    if (parameters[i].grad().defined()) grads.push_back(parameters[i].grad());
  }
  return grads;
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  const std::vector<Tensor> grads = gradients("clip_grad_norm_", parameters);
  if (grads.empty()) return 0.0;
  NoGradGuard no_grad;
  // As PyTorch: the norm of the per-gradient norms, in their promoted dtype, on the first
  // gradient's device.
  Dtype dtype = grads.front().dtype();
  for (const Tensor& grad : grads) dtype = promote_types(dtype, grad.dtype());
  std::vector<Tensor> norms;
  for (const Tensor& grad : grads) {
    norms.push_back(norm(grad, norm_type).to(dtype).to(grads.front().device()));
  }
  const Tensor total = norms.size() == 1 ? norms.front() : norm(stack(norms), norm_type);
  const auto total_norm = total.item<double>();
  BG_CHECK(!error_if_nonfinite || std::isfinite(total_norm), "clip_grad_norm_",
           "the total norm of order ", norm_type, " of the gradients is non-finite (", total_norm,
           "), so it cannot be clipped; pass error_if_nonfinite = false to scale the gradients "
           "by it anyway");
  // A coefficient clamped to 1 leaves the gradients as they are.
  const Tensor coefficient = clamp_max(max_norm / (total + 1e-6), 1.0);
  for (const Tensor& grad : grads) {
    Tensor g = grad;
    g.mul_(coefficient.to(grad.device()));
  }
  return total_norm;
}

double clip_grad_norm_(const Tensor& parameter, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  return clip_grad_norm_(std::vector<Tensor>{parameter}, max_norm, norm_type, error_if_nonfinite);
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
  NoGradGuard no_grad;
  for (const Tensor& grad : gradients("clip_grad_value_", parameters)) {
    Tensor g = grad;
    g.clamp_(-clip_value, clip_value);
  }
}

void clip_grad_value_(const Tensor& parameter, double clip_value) {
  clip_grad_value_(std::vector<Tensor>{parameter}, clip_value);
}

}  // namespace bg::nn::utils
