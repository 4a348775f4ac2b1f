#include "bg/bayes/kl.h"

#include <cmath>

#include "bg/bayes/registry.h"
#include "bg/core/fused_gaussian.h"

namespace bg::bayes {

namespace {
template <typename T>
const T& as(const auto& object, const char* what) {
  const T* typed = dynamic_cast<const T*>(&object);
  BG_CHECK(typed != nullptr, "kl_divergence", "expected a ", what, ", got ", object.type_name());
  return *typed;
}
}  // namespace

Tensor kl_gaussian_gaussian(VariationalPosterior& q, const Prior& p) {
  const auto& posterior = as<GaussianPosterior>(q, "Gaussian posterior");
  const auto& prior = as<GaussianPrior>(p, "Gaussian prior");
  return fused::gaussian_kl(posterior.mu, posterior.rho, prior.mu.like(posterior.mu),
                            prior.sigma.like(posterior.mu), posterior.last_draw());
}

Tensor kl_gaussian_laplace(VariationalPosterior& q, const Prior& p) {
  const auto& posterior = as<GaussianPosterior>(q, "Gaussian posterior");
  const auto& prior = as<LaplacePrior>(p, "Laplace prior");
  const Tensor s = posterior.sigma();
  const Tensor d = posterior.mu - prior.mu.like(posterior.mu);
  const Tensor b = prior.b.like(posterior.mu);
  // Phi(-d/s) = (1 + erf(-d / (s sqrt 2))) / 2, so 1 - 2 Phi(-d/s) = erf(d / (s sqrt 2)).
  const Tensor folded_mean =
      s * std::sqrt(2.0 / M_PI) * (d * d / (s * s * -2)).exp() + d * (d / (s * M_SQRT2)).erf();
  const double log_sqrt_2pi_e = 0.5 * std::log(2.0 * M_PI * M_E);
  return ((b * 2).log() - s.log() - log_sqrt_2pi_e + folded_mean / b).sum();
}

Tensor kl_lowrank_gaussian(VariationalPosterior& q, const Prior& p) {
  const auto& posterior = as<LowRankGaussianPosterior>(q, "low-rank Gaussian posterior");
  const auto& prior = as<GaussianPrior>(p, "Gaussian prior");
  const Tensor& mu = posterior.mu;
  const Tensor variance =
      (prior.sigma.like(mu) * prior.sigma.like(mu)).expand(mu.sizes()).flatten();
  const Tensor d = posterior.diagonal_std().flatten();
  const Tensor& v = posterior.factor;  // [n, rank]
  const Tensor trace = ((d * d + (v * v).sum(1)) / variance).sum();
  const Tensor mahalanobis = ((mu - prior.mu.like(mu)).flatten().pow(2) / variance).sum();
  return (trace + mahalanobis - static_cast<double>(mu.numel()) + variance.log().sum() -
          posterior.log_det_covariance()) *
         0.5;
}

Tensor kl_divergence(VariationalPosterior& q, const Tensor& value, const KLEstimate& estimate) {
  BG_CHECK(q.prior() != nullptr, "kl_divergence", q.type_name(), " has no prior");
  const Prior& prior = *q.prior();
  if (estimate.method != KLMethod::MonteCarlo) {
    if (const KLFunction* closed_form = find_kl(q.registry_name(), prior.registry_name()))
      return (*closed_form)(q, prior);
  }
  BG_CHECK(estimate.method != KLMethod::ClosedForm, "kl_divergence",
           "no closed form is registered for the posterior '", q.registry_name(),
           "' and the prior '", prior.registry_name(),
           "' (bayes::register_kl adds one); use KLMethod::Auto or KLMethod::MonteCarlo");
  // Monte Carlo: E_q[log q(w) - log p(w)].
  if (estimate.mc_samples <= 0) {
    const Tensor w = value.defined() ? value : q.current_sample();
    // Summed apart: a posterior that does not factorize gives one log q per draw.
    const Tensor total = q.log_prob(w).sum() - prior.log_prob(w).sum();
    // After a vectorised pass, the current draws are S: their mean.
    return w.dim() > q.mean().dim() ? total / static_cast<double>(w.size(0)) : total;
  }
  Tensor total;
  for (int64_t i = 0; i < estimate.mc_samples; ++i) {
    const Tensor w = q.fresh_sample();
    const Tensor term = q.log_prob(w).sum() - prior.log_prob(w).sum();
    total = total.defined() ? total + term : term;
  }
  return total / static_cast<double>(estimate.mc_samples);
}

}  // namespace bg::bayes
