#pragma once
// Predictions from a stochastic model (a BNN, or a network with MC dropout): run it several
// times on the same input and summarize the draws.

#include "bg/core/api.h"
#include "bg/nn/holder.h"

BG_API_BEGIN

namespace bg::bayes {

enum class Task {
  Regression,      ///< outputs are values: their mean and standard deviation
  Classification,  ///< outputs are logits over the last dim: probabilities and entropies
};

class Likelihood;

/// The summary of `samples` draws. Regression fills mean and the three stds; classification fills
/// the other four, each per input row (the class dim reduced), probabilities keeping it.
///
/// Regression's spreads (population: divided by the number of draws): `epistemic_std` is the
/// spread of the draws' predictive means, the model's uncertainty, which more data reduces;
/// `aleatoric_std` is the noise the likelihood assumes, the square root of the draws' mean noise
/// variance (undefined without a likelihood: the outputs are then the predictions themselves);
/// `std` is the total predictive std, sqrt(epistemic^2 + aleatoric^2) (the law of total
/// variance), so without a likelihood it is the epistemic spread.
struct Prediction {
  Tensor mean;                ///< the mean of the draws' predictive means
  Tensor std;                 ///< the total predictive standard deviation
  Tensor epistemic_std;       ///< the spread of the draws' predictive means
  Tensor aleatoric_std;       ///< the likelihood's noise (root of its mean variance over the draws)
  Tensor probabilities;       ///< mean of softmax(logits): the predictive distribution
  Tensor predictive_entropy;  ///< H[mean p]: total uncertainty
  Tensor expected_entropy;    ///< mean of H[p]: the aleatoric part
  Tensor mutual_information;  ///< predictive - expected entropy: the epistemic part
};

/// Draws `samples` outputs of `model` on `input` without recording a graph and summarizes them.
/// The moments are streamed (Chan et al.'s combination of chunk moments), so memory holds a few
/// chunks of outputs whatever the number of samples. A BayesianModule in Sample mode draws them in
/// chunks of one vectorised pass each (BayesianModuleImpl::forward_samples), or one by one if its
/// module reads a Bayesian parameter other than through linear or a convolution; any other model
/// runs once per draw (MC dropout).
Prediction predict(const nn::AnyModule& model, const Tensor& input, int64_t samples,
                   Task task = Task::Regression);
/// predict with a likelihood: a regression likelihood gives the predictive mean of each output
/// and the aleatoric spread (GaussianLikelihood, HeteroscedasticGaussianLikelihood); a
/// classification likelihood (CategoricalLikelihood) predicts as Task::Classification.
Prediction predict(const nn::AnyModule& model, const Tensor& input, int64_t samples,
                   Likelihood& likelihood);

/// The predictive log-likelihood of `target` [batch, ...]: for each example, the log of the Monte
/// Carlo mixture (1/S) sum_s p(target | model_s(input)) over `samples` draws (computed with
/// logsumexp), averaged over the examples: the "test log-likelihood" of the BNN literature. For a
/// Gaussian likelihood on standardized targets, subtract log(the targets' std) to get it in the
/// original units.
double predictive_log_likelihood(const nn::AnyModule& model, const Tensor& input,
                                 const Tensor& target, int64_t samples, Likelihood& likelihood);

}  // namespace bg::bayes

BG_API_END
