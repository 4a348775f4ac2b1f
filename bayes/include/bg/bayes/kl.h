#pragma once
// KL divergences between a posterior and its prior.

#include "bg/bayes/posterior.h"
#include "bg/bayes/prior.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::bayes {

/// KL(N(mu1, s1^2) || N(mu2, s2^2)) = log(s2 / s1) + (s1^2 + (mu1 - mu2)^2) / (2 s2^2) - 1/2,
/// summed over the parameter's elements, for a Gaussian posterior and a Gaussian prior (one fused
/// pass: fused::gaussian_kl).
Tensor kl_gaussian_gaussian(VariationalPosterior& q, const Prior& p);

/// KL(N(m, s^2) || Laplace(mu, b)) = log(2b) - log(s sqrt(2 pi e)) + E|w - mu| / b, where the
/// folded-normal mean is E|w - mu| = s sqrt(2/pi) exp(-d^2 / 2s^2) + d (1 - 2 Phi(-d/s)),
/// d = m - mu; summed over the parameter's elements.
Tensor kl_gaussian_laplace(VariationalPosterior& q, const Prior& p);

/// Closed form or Monte Carlo.
enum class KLMethod {
  Auto,        ///< the closed form where one is registered for the pair, else Monte Carlo
  ClosedForm,  ///< the closed form; a pair without one is an error
  MonteCarlo,  ///< Monte Carlo even where a closed form exists (e.g. to check one with the other)
};

/// KL(N(mu, D + V V^T) || N(m, diag(s^2))) = (tr(diag(s^-2) (D + V V^T)) + sum (mu - m)^2 / s^2 - n
/// + sum log s^2 - log det(D + V V^T)) / 2, for a low-rank-plus-diagonal posterior and a Gaussian
/// prior (scalar or elementwise m, s), the log-determinant by the matrix determinant lemma.
Tensor kl_lowrank_gaussian(VariationalPosterior& q, const Prior& p);

/// How the KL of one posterior is computed.
struct KLEstimate {
  /// For Monte Carlo: 0 takes one sample, the value the parameter holds now (the draw of the last
  /// forward pass: unbiased, at no extra cost); n > 0 the mean over n fresh draws. A closed form
  /// ignores it.
  int64_t mc_samples = 0;
  KLMethod method = KLMethod::Auto;
};

/// KL(q || q's prior), summed over the parameter's elements, of a posterior whose parameter
/// currently holds `value` (undefined: q's draw of the current step, q.current_sample()). A value
/// with a leading dim of S draws ([S, ...], after a vectorised pass) gives the mean over them.
Tensor kl_divergence(VariationalPosterior& q, const Tensor& value, const KLEstimate& estimate = {});

}  // namespace bg::bayes

BG_API_END
