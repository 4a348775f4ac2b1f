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

/// Runs `model` `samples` times on `input` without recording a graph. The moments are streamed
/// (Welford's algorithm), so memory holds a few outputs whatever the number of samples.
Prediction predict(const nn::AnyModule& model, const Tensor& input, int64_t samples,
                   Task task = Task::Regression);

}  // namespace bg::bayes

BG_API_END
