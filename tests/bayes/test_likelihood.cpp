// Likelihoods: log densities against their formulas, gradients against finite differences, the
// learned noise of a regression, predict's epistemic and aleatoric spreads, and the predictive
// log-likelihood of the Monte Carlo mixture.

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
namespace F = bg::nn::functional;
using namespace bg;
using bayes::BayesianModule;
using bayes::BayesianOptions;

namespace {

double normal_log_pdf(double y, double mean, double variance) {
  return -0.5 * (std::log(2 * std::numbers::pi * variance) + (y - mean) * (y - mean) / variance);
}

}  // namespace

TEST_CASE("GaussianLikelihood: log N(y; f, sigma^2) per example, the mean NLL as its forward") {
  bayes::GaussianLikelihood likelihood(0.5);
  likelihood->to(kFloat64);  // log_sigma: the float32 of log(0.5), now in float64
  const double sigma = likelihood->sigma().item<double>();
  CHECK(sigma == doctest::Approx(0.5).epsilon(1e-7));
  const Tensor f = tensor({{0.1, -0.3}, {1.0, 2.0}, {0.0, 0.5}});
  const Tensor y = tensor({{0.4, -0.2}, {0.7, 2.5}, {-1.0, 0.5}});
  const std::vector<double> fv = test::values(f), yv = test::values(y);
  std::vector<double> expected(3, 0.0);
  for (size_t i = 0; i < 6; ++i) expected[i / 2] += normal_log_pdf(yv[i], fv[i], sigma * sigma);
  test::check_close(likelihood->log_prob(f, y), expected, 1e-14);
  CHECK(likelihood(f, y).item<double>() ==
        doctest::Approx(-(expected[0] + expected[1] + expected[2]) / 3).epsilon(1e-14));
  // Draws on a leading dim: [S, batch, ...] outputs give [S, batch].
  CHECK(likelihood->log_prob(stack({f, f}), y).sizes() == Shape{2, 3});
  // d/d(log_sigma, f) against finite differences.
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        likelihood->log_sigma = in[0];
        return likelihood(in[1], y);
      },
      {test::leaf({}, 3), test::leaf({3, 2}, 4)});
  // A fixed noise is a buffer: nothing to train.
  bayes::GaussianLikelihood fixed(0.1, /*learn_noise=*/false);
  CHECK(fixed->parameters().empty());
  CHECK(fixed->buffers().size() == 1);
  test::check_error({"GaussianLikelihood", "positive"}, [] { bayes::GaussianLikelihood(0.0); });
  test::check_error({"GaussianLikelihood", "does not fit the target"},
                    [&] { likelihood->log_prob(f, y.narrow(1, 0, 1)); });
}

TEST_CASE("HeteroscedasticGaussianLikelihood: a mean head and a variance head") {
  bayes::HeteroscedasticGaussianLikelihood likelihood(1e-6);
  const Tensor out = tensor({{0.1, -1.0}, {1.0, 0.5}, {-0.5, 3.0}});  // [mean, raw variance]
  const Tensor y = tensor({0.3, 0.0, -0.4});
  const std::vector<double> o = test::values(out), yv = test::values(y);
  std::vector<double> expected, means, variances;
  for (size_t i = 0; i < 3; ++i) {
    const double variance = std::log1p(std::exp(o[2 * i + 1])) + 1e-6;
    expected.push_back(normal_log_pdf(yv[i], o[2 * i], variance));
    means.push_back(o[2 * i]);
    variances.push_back(variance);
  }
  test::check_close(likelihood->log_prob(out, y), expected, 1e-14);
  test::check_close(likelihood->predictive_mean(out), means, 0);
  test::check_close(likelihood->noise_variance(out), variances, 1e-15);
  test::check_gradients([&](const std::vector<Tensor>& in) { return likelihood(in[0], y); },
                        {test::leaf({3, 2}, 5)});
  test::check_error({"HeteroscedasticGaussianLikelihood", "[..., 2]"},
                    [&] { likelihood->log_prob(y.unsqueeze(1), y); });
}

TEST_CASE("CategoricalLikelihood: log softmax at the label, the forward is cross-entropy") {
  bayes::CategoricalLikelihood likelihood;
  const Tensor logits = tensor({{1.0, 2.0, 0.5}, {-1.0, 0.0, 3.0}});
  const Tensor labels = tensor<int64_t>({1, 0});
  test::check_close(likelihood->log_prob(logits, labels),
                    test::values(logits.log_softmax(-1).gather(1, labels.unsqueeze(1)).squeeze(1)),
                    1e-15);
  CHECK(likelihood(logits, labels).item<double>() ==
        doctest::Approx(F::cross_entropy(logits, labels).item<double>()).epsilon(1e-14));
  CHECK(likelihood->log_prob(stack({logits, logits}), labels).sizes() == Shape{2, 2});
  test::check_error({"CategoricalLikelihood", "int64"},
                    [&] { likelihood->log_prob(logits, labels.to(kFloat64)); });
  test::check_error({"not a regression likelihood"}, [&] { likelihood->noise_variance(logits); });
}

TEST_CASE("a BNN with a GaussianLikelihood learns the observation noise") {
  // y = 2 x - 1 + N(0, 0.3^2): the ELBO with a learned noise settles near sigma = 0.3.
  manual_seed(61);
  const Tensor x = rand({512, 1}) * 4 - 2;
  const Tensor y = x * 2 - 1 + randn({512, 1}) * 0.3;
  nn::Linear linear(1, 1);
  BayesianModule bnn(linear);
  bayes::GaussianLikelihood likelihood;
  optim::Adam optimizer({bnn->parameters(), likelihood->parameters()}, optim::AdamOptions(0.05));
  for (int step = 0; step < 600; ++step) {
    optimizer.zero_grad();
    bayes::elbo_loss(likelihood(bnn(x), y), bnn, 512).backward();
    optimizer.step();
  }
  CHECK(likelihood->sigma().item<double>() == doctest::Approx(0.3).epsilon(0.1));
  // predict: the aleatoric spread is the learned noise, the epistemic one is small with 512
  // points, and the total is their root sum of squares.
  const bayes::Prediction p = bayes::predict(bnn, x.narrow(0, 0, 8), 400, likelihood);
  test::check_close(p.aleatoric_std, std::vector<double>(8, likelihood->sigma().item<double>()),
                    1e-5);
  CHECK(p.epistemic_std.max().item<double>() < 0.1);
  test::check_close(p.std, test::values((p.epistemic_std.pow(2) + p.aleatoric_std.pow(2)).sqrt()),
                    1e-6);
}

TEST_CASE("predict with a likelihood: the spread of the means and the mean noise variance") {
  manual_seed(62);
  nn::Sequential net(nn::Linear(2, 4), nn::Tanh(), nn::Linear(4, 2));
  net->to(kFloat64);
  BayesianModule bnn(net, BayesianOptions().posterior({"gaussian", {{"rho", -1.0}}}));
  bayes::HeteroscedasticGaussianLikelihood likelihood;
  const Tensor x = randn({5, 2}, kFloat64);
  manual_seed(63);
  const bayes::Prediction p = bayes::predict(bnn, x, 30, likelihood);
  manual_seed(63);
  const Tensor draws = bnn->forward_samples(x, 30);  // what predict drew: one chunk
  const Tensor means = draws.select(-1, 0);
  const Tensor variances = softplus(draws.select(-1, 1)) + 1e-6;
  const Tensor epistemic = ((means - means.mean(0)).pow(2).mean(0)).sqrt();
  const Tensor aleatoric = variances.mean(0).sqrt();
  test::check_close(p.mean, test::values(means.mean(0)), 1e-12, 1e-13);
  test::check_close(p.epistemic_std, test::values(epistemic), 1e-10, 1e-12);
  test::check_close(p.aleatoric_std, test::values(aleatoric), 1e-12, 1e-13);
  test::check_close(p.std, test::values((epistemic.pow(2) + aleatoric.pow(2)).sqrt()), 1e-10,
                    1e-12);
  // Without a likelihood, std is the spread of the outputs and there is no aleatoric part.
  const bayes::Prediction plain = bayes::predict(bnn, x, 5);
  CHECK(equal(plain.std, plain.epistemic_std));
  CHECK_FALSE(plain.aleatoric_std.defined());
}

TEST_CASE("predictive_log_likelihood: log of the mean of the draws' likelihoods, per example") {
  manual_seed(64);
  nn::Sequential net(nn::Linear(2, 4), nn::Tanh(), nn::Linear(4, 3));
  net->to(kFloat64);
  BayesianModule bnn(net, BayesianOptions().posterior({"gaussian", {{"rho", -1.0}}}));
  const Tensor x = randn({6, 2}, kFloat64);
  SUBCASE("classification") {
    const Tensor labels = tensor<int64_t>({0, 2, 1, 1, 0, 2});
    bayes::CategoricalLikelihood likelihood;
    manual_seed(65);
    const double ll = bayes::predictive_log_likelihood(bnn, x, labels, 40, likelihood);
    manual_seed(65);
    const Tensor p = bnn->forward_samples(x, 40).softmax(-1);  // [40, 6, 3]
    const Tensor at_label = p.gather(2, labels.view({1, 6, 1}).expand({40, 6, 1})).squeeze(2);
    CHECK(ll == doctest::Approx(at_label.mean(0).log().mean().item<double>()).epsilon(1e-12));
    // The mixture's log-likelihood is at least the mean of the draws' (Jensen).
    CHECK(ll >= at_label.log().mean().item<double>());
  }
  SUBCASE("regression, with one draw: the log-likelihood of that draw") {
    const Tensor y = randn({6, 3}, kFloat64);
    bayes::GaussianLikelihood likelihood(0.7);
    likelihood->to(kFloat64);
    manual_seed(66);
    const double ll = bayes::predictive_log_likelihood(bnn, x, y, 1, likelihood);
    manual_seed(66);
    const Tensor out = bnn->forward_samples(x, 1)[0];
    CHECK(ll == doctest::Approx(likelihood->log_prob(out, y).mean().item<double>()).epsilon(1e-12));
  }
  SUBCASE("a model without posteriors (MC dropout) runs once per draw") {
    nn::Sequential dropout_net(nn::Linear(2, 8), bayes::BayesianDropout(0.5), nn::Linear(8, 3));
    dropout_net->to(kFloat64);
    bayes::CategoricalLikelihood likelihood;
    const double ll = bayes::predictive_log_likelihood(
        dropout_net, x, tensor<int64_t>({0, 1, 2, 0, 1, 2}), 50, likelihood);
    CHECK(std::isfinite(ll));
    CHECK(ll < 0);
  }
  test::check_error({"predictive_log_likelihood", "samples must be at least 1"}, [&] {
    bayes::CategoricalLikelihood likelihood;
    bayes::predictive_log_likelihood(bnn, x, tensor<int64_t>({0}), 0, likelihood);
  });
}

TEST_CASE("a multi-sample ELBO: the likelihood of forward_samples' draws") {
  manual_seed(67);
  nn::Linear linear(3, 1);
  BayesianModule bnn(linear);
  bayes::GaussianLikelihood likelihood(0.5);
  const Tensor x = randn({8, 3}), y = randn({8, 1});
  const Tensor draws = bnn->forward_samples(x, 4);
  const Tensor nll = likelihood(draws, y);  // the mean over the 4 draws and the 8 examples
  double expected = 0;
  for (int64_t s = 0; s < 4; ++s) expected += likelihood(draws[s], y).item<double>() / 4;
  CHECK(nll.item<double>() == doctest::Approx(expected).epsilon(1e-6));
  bayes::elbo_loss(nll, bnn, 100).backward();
  CHECK(likelihood->log_sigma.grad().defined());
}
