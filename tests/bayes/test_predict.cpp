// bayes::predict: predictive moments, probabilities and entropies against direct computations
// over stored samples.

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include <cmath>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
using namespace bg;
using bayes::BayesianModule;
using bayes::BayesianOptions;
using bayes::Task;

namespace {

// A float64 BNN 2 -> 3 with wide posteriors, so that draws differ visibly.
BayesianModule<> small_bnn() {
  manual_seed(1);
  nn::Sequential net(nn::Linear(2, 4), nn::Tanh(), nn::Linear(4, 3));
  net->to(kFloat64);
  return BayesianModule(net,
                        BayesianOptions().posterior({"gaussian", {{"mu_std", 1.0}, {"rho", 0.0}}}));
}

// The `samples` draws predict makes of `bnn` on `x` (one vectorised pass when samples times the
// batch fits one of its chunks), stacked: [samples, ...].
Tensor stored_samples(BayesianModule<>& bnn, const Tensor& x, int64_t samples) {
  NoGradGuard no_grad;
  return bnn->forward_samples(x, samples);
}

// `samples` forward passes of `model` on `x`, stacked: [samples, ...].
Tensor looped_samples(const nn::AnyModule& model, const Tensor& x, int64_t samples) {
  NoGradGuard no_grad;
  std::vector<Tensor> draws;
  for (int64_t k = 0; k < samples; ++k) draws.push_back(model.forward(x));
  return stack(draws);
}

// H[p] over the last dim, in double, with 0 log 0 = 0.
std::vector<double> entropies(const Tensor& p) {
  const int64_t classes = p.size(-1);
  const std::vector<double> v = test::values(p);
  std::vector<double> out;
  for (size_t row = 0; row * classes < v.size(); ++row) {
    double h = 0;
    for (int64_t c = 0; c < classes; ++c) {
      const double q = v[row * classes + c];
      if (q > 0) h -= q * std::log(q);
    }
    out.push_back(h);
  }
  return out;
}

// A model whose output has no class dim.
struct ScalarImpl : nn::Module {
  ScalarImpl() : Module("Scalar") {}
  Tensor forward(const Tensor& x) { return x.sum(); }
};

}  // namespace

TEST_CASE("regression: the mean and population std of the stored draws") {
  BayesianModule bnn = small_bnn();
  const Tensor x = randn({5, 2}, kFloat64);
  manual_seed(2);
  const bayes::Prediction prediction = bayes::predict(bnn, x, 40);
  manual_seed(2);
  const Tensor draws = stored_samples(bnn, x, 40);
  const Tensor mean = draws.mean(0);
  const Tensor std = ((draws - mean).pow(2).sum(0) / 40).sqrt();
  test::check_close(prediction.mean, test::values(mean), 1e-12, 1e-12);
  test::check_close(prediction.std, test::values(std), 1e-10, 1e-12);
  CHECK(prediction.std.min().item<double>() > 0.01);  // the draws did differ
  CHECK(prediction.mean.sizes() == Shape{5, 3});
  CHECK_FALSE(prediction.probabilities.defined());
  // No graph is recorded, and the BNN keeps sampling afterwards.
  CHECK_FALSE(prediction.mean.requires_grad());
  CHECK_FALSE(prediction.std.requires_grad());
  CHECK(bnn->mode() == bayes::SampleMode::Sample);
  for (const Tensor& p : bnn->parameters()) CHECK_FALSE(p.grad().defined());
  // One sample: the draw itself, with zero spread.
  const bayes::Prediction one = bayes::predict(bnn, x, 1);
  test::check_close(one.std, std::vector<double>(15, 0.0), 0);
}

TEST_CASE("regression with many samples converges to the posterior predictive moments") {
  // y = w x with w ~ N(mu, s^2) and x = 1: predictive mean mu and std s. The moments, combined
  // chunk by chunk, keep memory at a few chunks of outputs however many samples.
  nn::Linear linear(nn::LinearOptions(1, 1).bias(false));
  linear->to(kFloat64);
  BayesianModule bnn(linear);
  auto& w = bayes::test::gaussian_of(*bnn, "weight");
  {
    NoGradGuard no_grad;
    w.mu.fill_(3.0);
    w.rho.fill_(0.5);
  }
  const double s = std::log1p(std::exp(0.5));
  const int64_t n = 20000;
  manual_seed(3);
  const bayes::Prediction prediction = bayes::predict(bnn, ones({1, 1}, kFloat64), n);
  CHECK(std::abs(prediction.mean.item<double>() - 3.0) < 4 * s / std::sqrt(n));
  CHECK(std::abs(prediction.std.item<double>() - s) < 4 * s / std::sqrt(2.0 * n));
  // A large mean with a small spread: the streamed variance keeps its precision.
  {
    NoGradGuard no_grad;
    w.mu.fill_(1e6);
    w.rho.fill_(-10.0);
  }
  manual_seed(4);
  const double tiny = bayes::predict(bnn, ones({1, 1}, kFloat64), 1000).std.item<double>();
  CHECK(tiny == doctest::Approx(std::log1p(std::exp(-10.0))).epsilon(0.15));
}

TEST_CASE("classification: mean probabilities, entropies and mutual information") {
  BayesianModule bnn = small_bnn();
  const Tensor x = randn({6, 2}, kFloat64);
  manual_seed(5);
  const bayes::Prediction prediction = bayes::predict(bnn, x, 30, Task::Classification);
  manual_seed(5);
  const Tensor p = stored_samples(bnn, x, 30).softmax(-1);  // [30, 6, 3]
  const Tensor mean_p = p.mean(0);
  test::check_close(prediction.probabilities, test::values(mean_p), 1e-12, 1e-14);
  test::check_close(prediction.probabilities.sum(-1), std::vector<double>(6, 1.0), 1e-12);
  const std::vector<double> predictive = entropies(mean_p);
  std::vector<double> expected(6, 0.0), information(6);
  for (int64_t k = 0; k < 30; ++k) {
    const std::vector<double> h = entropies(p.select(0, k));
    for (size_t i = 0; i < 6; ++i) expected[i] += h[i] / 30;
  }
  for (size_t i = 0; i < 6; ++i) information[i] = predictive[i] - expected[i];
  test::check_close(prediction.predictive_entropy, predictive, 1e-12);
  test::check_close(prediction.expected_entropy, expected, 1e-12);
  test::check_close(prediction.mutual_information, information, 1e-9, 1e-12);
  CHECK(prediction.mutual_information.min().item<double>() > 1e-4);  // the draws disagree
  CHECK_FALSE(prediction.mean.defined());
  CHECK_FALSE(prediction.probabilities.requires_grad());
  CHECK_FALSE(prediction.mutual_information.requires_grad());
}

TEST_CASE(
    "classification with one model: no epistemic part, and certain classes have zero entropy") {
  BayesianModule bnn = small_bnn();
  bnn->set_mode(bayes::SampleMode::Mean);
  const bayes::Prediction same =
      bayes::predict(bnn, randn({4, 2}, kFloat64), 10, Task::Classification);
  test::check_close(same.expected_entropy, test::values(same.predictive_entropy), 1e-12);
  // Rounding may leave -1e-17: the information is clamped at zero.
  test::check_close(same.mutual_information, std::vector<double>(4, 0.0), 0, 1e-12);
  CHECK(same.mutual_information.min().item<double>() >= 0);

  // Logits far apart give probabilities of exactly 1 and 0: 0 log 0 counts as 0, not NaN.
  nn::Linear certain(1, 2);
  {
    NoGradGuard no_grad;
    certain->weight.copy_(tensor({{0.0}, {-1e4}}));
    certain->bias.zero_();
  }
  const bayes::Prediction sure = bayes::predict(certain, ones({2, 1}), 3, Task::Classification);
  test::check_close(sure.probabilities, {1, 0, 1, 0}, 0);
  test::check_close(sure.predictive_entropy, {0, 0}, 0);
  test::check_close(sure.mutual_information, {0, 0}, 0);
}

TEST_CASE("a BNN that reads a weight outside linear: predict runs the draws one by one") {
  manual_seed(6);
  bayes::test::Twice twice(2, 2);
  twice->to(kFloat64);
  BayesianModule bnn(twice);
  const Tensor x = randn({3, 2}, kFloat64);
  test::check_error({"forward_samples", "the parameter 'weight'", "linear, conv1d", "one by one"},
                    [&] { bnn->forward_samples(x, 4); });
  manual_seed(7);
  const bayes::Prediction prediction = bayes::predict(bnn, x, 25);
  manual_seed(7);  // predict's refused first try drew nothing: the loop replays its draws
  const Tensor draws = looped_samples(bnn, x, 25);
  test::check_close(prediction.mean, test::values(draws.mean(0)), 1e-12, 1e-12);
  test::check_close(prediction.std, test::values(((draws - draws.mean(0)).pow(2).mean(0)).sqrt()),
                    1e-10, 1e-12);
}

TEST_CASE("predict of a BNN in chunks agrees with a loop of forward passes in distribution") {
  // 2000 draws of a 1-4-1 network on 40 points: several vectorised chunks. Their moments and a
  // loop's agree within the Monte Carlo error (each a mean of 2000 draws).
  manual_seed(8);
  nn::Sequential net(nn::Linear(1, 4), nn::Tanh(), nn::Linear(4, 1));
  net->to(kFloat64);
  BayesianModule bnn(net, BayesianOptions().posterior({"gaussian", {{"rho", -1.0}}}));
  const Tensor x = linspace(-2, 2, 40, kFloat64).unsqueeze(1);
  const bayes::Prediction vectorised = bayes::predict(bnn, x, 2000);
  const Tensor draws = looped_samples(bnn, x, 2000);
  const Tensor loop_std = ((draws - draws.mean(0)).pow(2).mean(0)).sqrt();
  const Tensor tolerance = loop_std * (5 / std::sqrt(1000.0));
  CHECK(((vectorised.mean - draws.mean(0)).abs() - tolerance).max().item<double>() < 0);
  CHECK(((vectorised.std - loop_std).abs() - tolerance).max().item<double>() < 0);
}

TEST_CASE("predict rejects no samples and logits without a class dim") {
  BayesianModule bnn = small_bnn();
  test::check_error({"predict", "samples must be at least 1, got 0"}, [&] {
    bayes::predict(bnn, randn({1, 2}, kFloat64), 0);
  });
  test::check_error({"predict", "class dim"}, [&] {
    bayes::predict(nn::AnyModule(std::make_shared<ScalarImpl>()), ones({2}), 2,
                   Task::Classification);
  });
}
