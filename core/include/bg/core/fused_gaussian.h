#pragma once
// Fused Gaussian ops for Bayes by Backprop: one pass over memory where the Tensor-op formula
// would make several.
//
// A Bayesian layer draws each weight as w = mu + softplus(rho) * eps and adds the KL divergence of
// N(mu, softplus(rho)^2) from its prior to the loss. Written as Tensor ops, the draw takes three
// kernels and six in backward, the KL a dozen each way; for millions of weights that is memory
// traffic, and for tiny models it is per-op overhead. These ops compute the same functions in one
// kernel each way. Their backward passes are fused kernels too, except under create_graph, where
// the same derivatives are written in Tensor ops so they can be differentiated again. On a backend
// without fused Gaussian kernels (Backend::gaussian_kernels() is null) both ops are that
// composition of Tensor ops.

#include "bg/core/api.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg::fused {

/// w = mu + softplus(rho) * eps (the reparameterization trick). mu, rho and eps share sizes,
/// dtype (float32 or float64) and device; differentiable in mu and rho (eps is noise).
Tensor gaussian_sample(const Tensor& mu, const Tensor& rho, const Tensor& eps);

/// KL(N(mu, s^2) || N(prior_mu, prior_sigma^2)) with s = softplus(rho), summed over all elements:
///   sum of log(prior_sigma / s) + (s^2 + (mu - prior_mu)^2) / (2 prior_sigma^2) - 1/2.
/// prior_mu and prior_sigma broadcast to mu's shape (e.g. 0-d). Returns a 0-d tensor,
/// differentiable in mu and rho (and, through a Tensor-op formula, in prior tensors that require
/// grad).
///
/// `sample`, when given, is a draw of gaussian_sample from the same mu and rho (rho unchanged
/// since): the backward passes of the two then run as one, in one pass over the parameters'
/// memory, with the same gradients (an undefined tensor, or any other tensor, is ignored).
Tensor gaussian_kl(const Tensor& mu, const Tensor& rho, const Tensor& prior_mu,
                   const Tensor& prior_sigma, const Tensor& sample = Tensor());

}  // namespace bg::fused

BG_API_END
