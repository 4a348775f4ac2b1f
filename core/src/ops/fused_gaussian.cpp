// Frontends of the fused Gaussian ops (fused_gaussian.h): checks, kernels, derivatives. On a
// backend without GaussianKernels (and for a learnable prior) the same functions are composed of
// Tensor ops, which autograd differentiates by itself.

#include "bg/core/fused_gaussian.h"

#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg::fused {

using autograd::Context;
using autograd::Grads;

namespace {

void check_operand(const char* op, const char* name, const Tensor& t, const Tensor& mu) {
  detail::check_defined(op, t, name);
  BG_CHECK(t.sizes() == mu.sizes() && t.dtype() == mu.dtype() && t.device() == mu.device(), op,
           name, " is ", describe(t), " but mu is ", describe(mu));
}

void check_mu(const char* op, const Tensor& mu) {
  detail::check_defined(op, mu, "mu");
  detail::check_floating(op, mu);
}

}  // namespace

Tensor gaussian_sample(const Tensor& mu, const Tensor& rho, const Tensor& eps) {
  check_mu("gaussian_sample", mu);
  check_operand("gaussian_sample", "rho", rho, mu);
  check_operand("gaussian_sample", "eps", eps, mu);
  GaussianKernels* kernels = detail::backend_of(mu).gaussian_kernels();
  if (kernels == nullptr) return mu + softplus(rho) * eps;
  Tensor out = detail::empty_tensor("gaussian_sample", mu.sizes(), mu.dtype(), mu.device());
  kernels->gaussian_sample(out, mu, rho, eps);
  // dw/dmu = 1, dw/drho = eps * sigmoid(rho).
  autograd::record(
      out, "GaussianSampleBackward", {mu, rho}, {rho, eps}, false,
      [](const Context& c, const Tensor& g) -> Grads {
        if (!c.needs_grad(1)) return {g, Tensor()};
        const Tensor r = c.saved(0), e = c.saved(1);
        if (GradMode::is_enabled()) return {g, g * e * r.sigmoid()};  // create_graph
        Tensor grad_rho = detail::empty_tensor("gaussian_sample", r.sizes(), r.dtype(), r.device());
        detail::backend_of(r).gaussian_kernels()->gaussian_sample_backward(grad_rho, g, r, e);
        return {g, grad_rho};
      });
  return out;
}

Tensor gaussian_kl(const Tensor& mu, const Tensor& rho, const Tensor& prior_mu,
                   const Tensor& prior_sigma) {
  check_mu("gaussian_kl", mu);
  check_operand("gaussian_kl", "rho", rho, mu);
  for (const Tensor* prior : {&prior_mu, &prior_sigma}) {
    detail::check_same_device("gaussian_kl", mu, *prior);
    BG_CHECK(broadcast_shapes("gaussian_kl", prior->sizes(), mu.sizes()) == mu.sizes(),
             "gaussian_kl", "the prior's ", describe(*prior), " does not broadcast to mu's shape ",
             shape_str(mu.sizes()));
  }
  // A learnable prior takes the Tensor-op formula, which differentiates in every operand.
  GaussianKernels* kernels = detail::backend_of(mu).gaussian_kernels();
  if (kernels == nullptr || prior_mu.requires_grad() || prior_sigma.requires_grad()) {
    const Tensor sigma = softplus(rho), diff = mu - prior_mu;
    return ((prior_sigma / sigma).log() +
            (sigma * sigma + diff * diff) / (prior_sigma * prior_sigma * 2) - 0.5)
        .sum();
  }
  const Tensor pm = detail::broadcast_to(detail::cast(prior_mu, mu.dtype()), mu.sizes());
  const Tensor ps = detail::broadcast_to(detail::cast(prior_sigma, mu.dtype()), mu.sizes());
  Tensor out = detail::empty_tensor("gaussian_kl", {}, mu.dtype(), mu.device());
  kernels->gaussian_kl(out, mu, rho, pm, ps);
  // d/dmu = (mu - pm) / ps^2, d/drho = (sigma / ps^2 - 1 / sigma) sigmoid(rho).
  autograd::record(
      out, "GaussianKLBackward", {mu, rho}, {mu, rho, pm, ps}, false,
      [](const Context& c, const Tensor& g) -> Grads {
        const Tensor m = c.saved(0), r = c.saved(1), prior_mean = c.saved(2),
                     prior_std = c.saved(3);
        if (GradMode::is_enabled()) {  // create_graph: Tensor ops, differentiable again
          const Tensor sigma = softplus(r), inv_var = 1.0 / (prior_std * prior_std);
          return {g * (m - prior_mean) * inv_var,
                  g * (sigma * inv_var - 1.0 / sigma) * r.sigmoid()};
        }
        Tensor grad_mu = detail::empty_tensor("gaussian_kl", m.sizes(), m.dtype(), m.device());
        Tensor grad_rho = detail::empty_tensor("gaussian_kl", m.sizes(), m.dtype(), m.device());
        detail::backend_of(m).gaussian_kernels()->gaussian_kl_backward(grad_mu, grad_rho, g, m, r,
                                                                       prior_mean, prior_std);
        return {grad_mu, grad_rho};
      });
  return out;
}

}  // namespace bg::fused
