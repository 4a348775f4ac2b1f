#pragma once
// The loss of Bayes by Backprop with the right minibatch scaling, and KL weighting schedules.
//
// Derivation. Variational inference maximizes the evidence lower bound over the posterior q(w):
//
//   ELBO(q) = sum_{i=1..N} E_q[log p(y_i | x_i, w)] - KL(q || p).
//
// Its negative divided by the dataset size N is a per-example loss with the same minimizer:
//
//   -ELBO / N = (1/N) sum_i E_q[-log p(y_i | x_i, w)] + KL / N.
//
// A minibatch of B examples drawn uniformly, with one weight draw w ~ q, estimates the first term
// without bias by the batch mean of -log p(y_i | x_i, w), i.e. a mean-reduced loss `nll`. Hence
//
//   elbo_loss = nll + kl_weight * KL / N      (nll: MEAN over the batch; KL: summed over weights)
//
// with kl_weight = 1 for the ELBO itself. The alternative convention, a SUM-reduced nll over the
// batch, needs the KL scaled by B / N instead: nll_sum + kl_weight * KL * B / N, which is B times
// the loss above (same minimizer, gradients B times larger). elbo_loss expects the mean.
//
// The likelihood must be a real negative log-likelihood for the balance to mean anything: mse_loss
// is -log N(y; f(x), 1/2) up to a constant, i.e. it assumes a noise standard deviation of
// 1/sqrt(2); gaussian_nll_loss and cross_entropy are proper NLLs.
//
// The heuristic of torchbayesian's example, loss = mse + 0.1 * KL_mean (KL_mean = KL / number of
// Bayesian weights, KLReduction::Mean), is this loss with kl_weight = 0.1 N / (number of weights):
// for its 250 points and 1321 weights, 0.019, a KL about 53 times weaker than the ELBO's. It
// tempers the posterior (narrower, fits the data more closely); the ELBO is the principled choice.
//
// KL weighting. A weight below 1 early in training lets the network fit the data before the KL
// pulls the posteriors to the prior (warm-up, Bowman et al. 2016; Sønderby et al. 2016); Blundell
// et al. (2015) instead put most of the KL on the first minibatches of each epoch.
//
//   bayes::KLSchedule schedule = bayes::KLSchedule::linear(1000);   // 0 -> 1 over 1000 steps
//   for (int64_t step = 0; ...; ++step) {
//     Tensor loss = bayes::elbo_loss(nn::functional::cross_entropy(bnn(x), y), bnn, dataset_size,
//                                    schedule.weight(step));
//     ...
//   }

#include <cstdint>

#include "bg/bayes/bayesian_module.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::bayes {

/// nll + kl_weight * KL / dataset_size: the negative ELBO per example, from the MEAN negative
/// log-likelihood of a minibatch (a scalar) and the summed KL of `bnn` (closed forms where
/// registered; otherwise Monte Carlo from the last forward pass, or from `mc_samples` fresh draws).
Tensor elbo_loss(const Tensor& nll, BayesianModuleImpl& bnn, int64_t dataset_size,
                 double kl_weight = 1.0, int64_t mc_samples = 0);
/// elbo_loss for a BayesianModule holder.
inline Tensor elbo_loss(const Tensor& nll, const BayesianModule<>& bnn, int64_t dataset_size,
                        double kl_weight = 1.0, int64_t mc_samples = 0) {
  return elbo_loss(nll, *bnn, dataset_size, kl_weight, mc_samples);
}

/// Blundell et al.'s weight of the KL for minibatch `batch` (1-based) of `num_batches` in an
/// epoch: pi_i = 2^(M - i) / (2^M - 1). The weights of an epoch sum to 1, so with a SUM-reduced
/// nll the epoch's losses pi_i KL + nll_sum_i add up to the full-data negative ELBO.
double blundell_weight(int64_t batch, int64_t num_batches);

/// The KL weight to pass to elbo_loss at each optimizer step (counted from 0).
class KLSchedule {
 public:
  /// The same weight at every step (1: the ELBO).
  static KLSchedule constant(double weight = 1.0);
  /// Linear warm-up: weight = final_weight * min(1, step / warmup_steps), from 0 at step 0 to
  /// final_weight from step warmup_steps on.
  static KLSchedule linear(int64_t warmup_steps, double final_weight = 1.0);
  /// Blundell et al.'s minibatch weights for epochs of `num_batches` steps, in elbo_loss's
  /// convention: step s is batch i = s % M + 1 and gets M * pi_i (pi_i = blundell_weight(i, M)).
  /// The factor M converts pi_i, meant for a summed KL over a summed nll, to the per-example loss;
  /// over an epoch the weights average to 1, as the constant schedule's do. Assumes every epoch
  /// has exactly `num_batches` minibatches of equal size.
  static KLSchedule blundell(int64_t num_batches);

  /// The weight at optimizer step `step` (>= 0).
  double weight(int64_t step) const;

 private:
  enum class Kind { Constant, Linear, Blundell };
  KLSchedule(Kind kind, double weight, int64_t steps)
      : kind_(kind), weight_(weight), steps_(steps) {}
  Kind kind_;
  double weight_;  // constant: the weight; linear: the final weight
  int64_t steps_;  // linear: warm-up steps; blundell: batches per epoch
};

}  // namespace bg::bayes

BG_API_END
