#pragma once
// What the Fashion-MNIST classifiers of the examples share: training with Adam for some epochs,
// and the report of a classifier (accuracy, NLL, ECE, Brier score on the test set; how well its
// predictive entropy and mutual information tell test images from out-of-distribution ones).

#include <bg/bg.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "progress.h"

namespace examples {

using bg::Tensor;
namespace nn = bg::nn;
namespace bayes = bg::bayes;

/// Seconds elapsed since `start`.
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// `epochs` passes of Adam (lr 1e-3) over `loader` in training mode, printing each epoch's mean
/// loss; `loss_of(batch)` is the loss of one minibatch. Leaves the model in eval mode.
inline void train(const std::string& name, nn::Module& model, bg::data::DataLoader& loader,
                  int64_t epochs, const std::function<Tensor(const bg::data::Example&)>& loss_of) {
  bg::optim::Adam optimizer(model.parameters(), bg::optim::AdamOptions(1e-3));
  model.train();
  for (int64_t epoch = 1; epoch <= epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    Progress progress(name + " epoch " + std::to_string(epoch), loader.num_batches(), "batches");
    double total = 0;
    for (const bg::data::Example& batch : loader) {
      optimizer.zero_grad();
      const Tensor loss = loss_of(batch);
      loss.backward();
      optimizer.step();
      total += loss.item<double>();
      progress.step();
    }
    progress.finish();
    std::printf("%-13s epoch %2lld   loss %.4f   (%.1f s)\n", name.c_str(),
                static_cast<long long>(epoch), total / static_cast<double>(loader.num_batches()),
                seconds_since(start));
  }
  model.eval();
}

/// One model's line of the report.
struct Row {
  std::string model;
  double accuracy, nll, ece, brier;
  double entropy_inverted, entropy_noise, mi_inverted, mi_noise;  // AUROCs
  bool has_mutual_information;
};

/// bayes::predict of a classifier over `input` in chunks of `chunk` rows (0: all at once), so that
/// the activations of a large set stay in cache; each row still gets `samples` draws.
inline bayes::Prediction predict_in_chunks(const nn::AnyModule& model, const Tensor& input,
                                           int64_t samples, int64_t chunk) {
  const int64_t n = input.size(0);
  if (chunk <= 0 || chunk >= n) {
    return bayes::predict(model, input, samples, bayes::Task::Classification);
  }
  std::vector<Tensor> probabilities, predictive, expected, mutual;
  for (int64_t start = 0; start < n; start += chunk) {
    const bayes::Prediction p =
        bayes::predict(model, input.narrow(0, start, std::min(chunk, n - start)), samples,
                       bayes::Task::Classification);
    probabilities.push_back(p.probabilities);
    predictive.push_back(p.predictive_entropy);
    expected.push_back(p.expected_entropy);
    mutual.push_back(p.mutual_information);
  }
  bayes::Prediction joined;
  joined.probabilities = bg::cat(probabilities);
  joined.predictive_entropy = bg::cat(predictive);
  joined.expected_entropy = bg::cat(expected);
  joined.mutual_information = bg::cat(mutual);
  return joined;
}

/// The report of `model` from `samples` predictive draws (1 for a deterministic model): its
/// metrics on the test images and labels, and the AUROCs of its uncertainty on the test images
/// against the inverted and the noise images. Predictions run in chunks of `chunk` images (0: each
/// set at once).
inline Row evaluate(const std::string& name, const nn::AnyModule& model, int64_t samples,
                    const Tensor& test, const Tensor& labels, const Tensor& inverted,
                    const Tensor& noise, int64_t chunk = 0) {
  std::printf("evaluating %s on the test, inverted and noise images\n", name.c_str());
  const auto run = [&](const Tensor& x) { return predict_in_chunks(model, x, samples, chunk); };
  const bayes::Prediction in = run(test), flipped = run(inverted), random = run(noise);
  return {name,
          bayes::accuracy(in.probabilities, labels),
          bayes::categorical_nll(in.probabilities, labels),
          bayes::expected_calibration_error(in.probabilities, labels),
          bayes::brier_score(in.probabilities, labels),
          bayes::ood_auroc(in.predictive_entropy, flipped.predictive_entropy),
          bayes::ood_auroc(in.predictive_entropy, random.predictive_entropy),
          bayes::ood_auroc(in.mutual_information, flipped.mutual_information),
          bayes::ood_auroc(in.mutual_information, random.mutual_information),
          samples > 1};
}

/// The rows as a Markdown table.
inline std::string table(const std::vector<Row>& rows) {
  std::ostringstream out;
  out << "| model | accuracy | NLL | ECE | Brier | AUROC entropy (inverted) | AUROC entropy "
         "(noise) "
         "| AUROC MI (inverted) | AUROC MI (noise) |\n"
         "|---|---|---|---|---|---|---|---|---|\n";
  char line[512];
  for (const Row& r : rows) {
    const auto mi = [&](double v) {
      char cell[16];
      std::snprintf(cell, sizeof(cell), "%.3f", v);
      return r.has_mutual_information ? std::string(cell) : std::string("-");
    };
    std::snprintf(line, sizeof(line),
                  "| %s | %.4f | %.4f | %.4f | %.4f | %.3f | %.3f | %s | %s |\n", r.model.c_str(),
                  r.accuracy, r.nll, r.ece, r.brier, r.entropy_inverted, r.entropy_noise,
                  mi(r.mi_inverted).c_str(), mi(r.mi_noise).c_str());
    out << line;
  }
  return out.str();
}

}  // namespace examples
