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

/// The summary of `samples` forward passes. Regression fills mean and std; classification fills
/// the other four, each per input row (the class dim reduced), probabilities keeping it.
struct Prediction {
  Tensor mean;  ///< mean output
  Tensor std;   ///< standard deviation of the outputs (population: divided by the sample count)
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

}  // namespace bg::bayes

BG_API_END
