#include "bg/bayes/predict.h"

namespace bg::bayes {

namespace {
// H[p] over the last dim, with 0 log 0 = 0.
Tensor entropy(const Tensor& p) { return -where(p > 0, p * p.log(), 0.0).sum(-1); }
}  // namespace

Prediction predict(const nn::AnyModule& model, const Tensor& input, int64_t samples, Task task) {
  BG_CHECK(samples >= 1, "predict", "samples must be at least 1, got ", samples);
  NoGradGuard no_grad;
  Prediction result;
  if (task == Task::Regression) {
    // Welford: mean_k = mean_{k-1} + (x - mean_{k-1}) / k; m2 += (x - mean_{k-1}) (x - mean_k).
    Tensor mean, m2;
    for (int64_t k = 1; k <= samples; ++k) {
      const Tensor x = model.forward(input);
      if (k == 1) {
        mean = x.clone();
        m2 = zeros_like(x);
        continue;
      }
      const Tensor delta = x - mean;
      mean.add_(delta / static_cast<double>(k));
      m2.add_(delta * (x - mean));
    }
    result.mean = mean;
    result.std = (m2 / static_cast<double>(samples)).sqrt();
    return result;
  }
  Tensor probabilities, expected_entropy;
  for (int64_t k = 0; k < samples; ++k) {
    const Tensor logits = model.forward(input);
    BG_CHECK(logits.dim() >= 1, "predict", "classification needs logits with a class dim, got ",
             describe(logits));
    const Tensor p = logits.softmax(-1);
    const Tensor h = entropy(p);
    if (k == 0) {
      probabilities = p.clone();
      expected_entropy = h.clone();
    } else {
      probabilities.add_(p);
      expected_entropy.add_(h);
    }
  }
  probabilities.div_(static_cast<double>(samples));
  expected_entropy.div_(static_cast<double>(samples));
  result.probabilities = probabilities;
  result.expected_entropy = expected_entropy;
  result.predictive_entropy = entropy(probabilities);
  // Rounding can push the difference a hair below zero; the mutual information is non-negative.
  result.mutual_information = (result.predictive_entropy - expected_entropy).clamp_min(0.0);
  return result;
}

}  // namespace bg::bayes
