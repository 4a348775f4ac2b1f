#include "bg/bayes/predict.h"

#include <algorithm>
#include <functional>

#include <cmath>

#include "bg/bayes/bayesian_module.h"
#include "bg/bayes/likelihood.h"

namespace bg::bayes {

namespace {

// H[p] over the last dim, with 0 log 0 = 0.
Tensor entropy(const Tensor& p) { return -where(p > 0, p * p.log(), 0.0).sum(-1); }

// A vectorised chunk holds about this many rows (draws times batch): many draws at once for a
// small batch, where a forward pass costs its per-op overhead, and few for a large one, whose
// activations should stay in cache (chunks of 2^13 to 2^16 rows gave the seed's 5000 points the
// same speed, within the noise, on the machine of bench/RESULTS.md).
constexpr int64_t kRowsPerChunk = int64_t{1} << 13;

// The draws of the model's outputs, produced in chunks [k, ...].
using DrawChunks = std::function<Tensor(int64_t k)>;

// The model's draws in chunks: one vectorised pass per chunk for a BNN that allows it, one
// forward pass per draw otherwise. A BNN whose module reads a Bayesian parameter other than
// through linear or a convolution throws VectorizedReadError at its first vectorised pass; the
// draws are then made one by one.
DrawChunks draws_of(const nn::AnyModule& model, const Tensor& input, int64_t& chunk) {
  auto* bnn = dynamic_cast<BayesianModuleImpl*>(model.ptr().get());
  const DrawChunks one_by_one = [&model, &input](int64_t) {
    return model.forward(input).unsqueeze(0);
  };
  if (bnn == nullptr || bnn->mode() != SampleMode::Sample || input.dim() == 0) {
    chunk = 1;
    return one_by_one;
  }
  chunk = std::max<int64_t>(1, kRowsPerChunk / std::max<int64_t>(1, input.size(0)));
  auto vectorizable = std::make_shared<bool>(true);
  return [bnn, one_by_one, vectorizable, &input](int64_t k) {
    if (*vectorizable) {
      try {
        return bnn->forward_samples(input, k);
      } catch (const VectorizedReadError&) {
        *vectorizable = false;
      }
    }
    std::vector<Tensor> draws;
    for (int64_t i = 0; i < k; ++i) draws.push_back(one_by_one(1)[0]);
    return stack(draws);
  };
}

// The moments of regression draws, combined chunk by chunk (Chan et al.): the deviations are
// taken from each chunk's own mean, so a large mean costs no precision.
struct RunningMoments {
  Tensor mean, m2;
  int64_t count = 0;
  void add(const Tensor& chunk) {  // [k, ...]
    const int64_t k = chunk.size(0);
    const Tensor chunk_mean = chunk.mean(0);
    const Tensor chunk_m2 = (chunk - chunk_mean).pow(2).sum(0);
    if (count == 0) {
      mean = chunk_mean;
      m2 = chunk_m2;
    } else {
      const Tensor delta = chunk_mean - mean;
      const double total = static_cast<double>(count + k);
      mean = mean + delta * (static_cast<double>(k) / total);
      m2 = m2 + chunk_m2 + delta * delta * (static_cast<double>(count) * k / total);
    }
    count += k;
  }
};

Prediction regression(const DrawChunks& next, int64_t chunk, int64_t samples,
                      Likelihood* likelihood) {
  RunningMoments means;
  Tensor noise;  // the sum over draws of the likelihood's noise variance
  for (int64_t done = 0; done < samples; done += chunk) {
    const Tensor outputs = next(std::min(chunk, samples - done));
    if (likelihood == nullptr) {
      means.add(outputs);
      continue;
    }
    means.add(likelihood->predictive_mean(outputs));
    const Tensor variance = likelihood->noise_variance(outputs).sum(0);
    noise = noise.defined() ? noise + variance : variance;
  }
  Prediction result;
  result.mean = means.mean;
  result.epistemic_std = (means.m2 / static_cast<double>(samples)).sqrt();
  if (likelihood == nullptr) {
    result.std = result.epistemic_std;
    return result;
  }
  const Tensor aleatoric_variance = noise / static_cast<double>(samples);
  result.aleatoric_std = aleatoric_variance.sqrt();
  result.std = (means.m2 / static_cast<double>(samples) + aleatoric_variance).sqrt();
  return result;
}

Prediction classification(const DrawChunks& next, int64_t chunk, int64_t samples) {
  Tensor probabilities, expected_entropy;
  for (int64_t done = 0; done < samples; done += chunk) {
    const Tensor logits = next(std::min(chunk, samples - done));
    BG_CHECK(logits.dim() >= 2, "predict", "classification needs logits with a class dim, got ",
             describe(logits[0]));
    const Tensor p = logits.softmax(-1);
    const Tensor p_sum = p.sum(0), h_sum = entropy(p).sum(0);
    probabilities = probabilities.defined() ? probabilities + p_sum : p_sum;
    expected_entropy = expected_entropy.defined() ? expected_entropy + h_sum : h_sum;
  }
  Prediction result;
  result.probabilities = probabilities / static_cast<double>(samples);
  result.expected_entropy = expected_entropy / static_cast<double>(samples);
  result.predictive_entropy = entropy(result.probabilities);
  // Rounding can push the difference a hair below zero; the mutual information is non-negative.
  result.mutual_information = (result.predictive_entropy - result.expected_entropy).clamp_min(0.0);
  return result;
}

}  // namespace

Prediction predict(const nn::AnyModule& model, const Tensor& input, int64_t samples, Task task) {
  BG_CHECK(samples >= 1, "predict", "samples must be at least 1, got ", samples);
  NoGradGuard no_grad;
  int64_t chunk = 1;
  const DrawChunks next = draws_of(model, input, chunk);
  return task == Task::Regression ? regression(next, chunk, samples, nullptr)
                                  : classification(next, chunk, samples);
}

Prediction predict(const nn::AnyModule& model, const Tensor& input, int64_t samples,
                   Likelihood& likelihood) {
  BG_CHECK(samples >= 1, "predict", "samples must be at least 1, got ", samples);
  NoGradGuard no_grad;
  int64_t chunk = 1;
  const DrawChunks next = draws_of(model, input, chunk);
  return likelihood.task() == Task::Regression ? regression(next, chunk, samples, &likelihood)
                                               : classification(next, chunk, samples);
}

double predictive_log_likelihood(const nn::AnyModule& model, const Tensor& input,
                                 const Tensor& target, int64_t samples, Likelihood& likelihood) {
  BG_CHECK(samples >= 1, "predictive_log_likelihood", "samples must be at least 1, got ", samples);
  BG_CHECK(target.defined() && target.dim() >= 1, "predictive_log_likelihood",
           "expected a target with a batch dim, got ", describe(target));
  NoGradGuard no_grad;
  int64_t chunk = 1;
  const DrawChunks next = draws_of(model, input, chunk);
  // log sum_s p_s per example, accumulated over chunks in log space: [batch].
  Tensor log_total;
  for (int64_t done = 0; done < samples; done += chunk) {
    const Tensor log_p = likelihood.log_prob(next(std::min(chunk, samples - done)), target);
    const Tensor chunk_total = log_p.to(kFloat64).logsumexp({0});
    log_total = log_total.defined() ? stack({log_total, chunk_total}).logsumexp({0}) : chunk_total;
  }
  return (log_total - std::log(static_cast<double>(samples))).mean().item<double>();
}

}  // namespace bg::bayes
