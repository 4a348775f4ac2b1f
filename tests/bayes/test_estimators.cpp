// Gradient estimators per rule: the local reparameterization trick and Flipout on the weights and
// biases that linear and the convolutions read. Their output distributions against the closed
// forms, their expectation against the plain estimator's, their gradients against finite
// differences (with the noise held fixed by reseeding), and their errors.

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include <cmath>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
namespace F = bg::nn::functional;
using namespace bg;
using bayes::BayesianModule;
using bayes::BayesianOptions;
using bayes::Rule;
using bayes::test::gaussian_of;

namespace {

// Per-column mean and variance (population) of [rows, ...] over the rows.
std::pair<Tensor, Tensor> moments(const Tensor& draws) {
  const Tensor mean = draws.mean(0);
  return {mean, (draws - mean).pow(2).mean(0)};
}

// |estimate - expected| <= 5 standard errors everywhere, for the mean of `n` draws of variance
// `variance`, and for their variance (standard error variance * sqrt(2 / n) for Gaussian draws).
void check_moments(const Tensor& draws, const Tensor& expected_mean,
                   const Tensor& expected_variance) {
  const double n = static_cast<double>(draws.size(0));
  const auto [mean, variance] = moments(draws);
  const Tensor mean_error = (mean - expected_mean).abs() / (expected_variance / n).sqrt();
  const Tensor variance_error =
      (variance - expected_variance).abs() / (expected_variance * std::sqrt(2.0 / n));
  CHECK(mean_error.max().item<double>() < 5);
  CHECK(variance_error.max().item<double>() < 5);
}

// Makes the Gaussian posteriors of `bnn` wide enough that the estimators' noise is visible.
void widen(BayesianModule<>& bnn, double rho) {
  NoGradGuard no_grad;
  for (const auto& item : bnn->posteriors()) {
    dynamic_cast<bayes::GaussianPosterior&>(*item.value()).rho.fill_(rho);
  }
}

}  // namespace

TEST_CASE("local reparameterization, linear: the output is N(x mu^T + mu_b, x^2 s^2 + s_b^2)") {
  manual_seed(41);
  nn::Linear linear(3, 2);
  linear->to(kFloat64);
  BayesianModule bnn(linear, BayesianOptions().estimator("local_reparameterization"));
  widen(bnn, -1.0);
  const Tensor x = tensor({{0.5, -1.5, 2.0}}, kFloat64);
  // 20000 copies of one row in one forward pass: each row is drawn independently.
  const Tensor out = bnn(x.expand({20000, 3}));
  auto& w = gaussian_of(*bnn, "weight");
  auto& b = gaussian_of(*bnn, "bias");
  NoGradGuard no_grad;
  const Tensor mean = x.matmul(w.mu.t()) + b.mu;
  const Tensor variance = (x * x).matmul(w.sigma().pow(2).t()) + b.sigma().pow(2);
  check_moments(out, mean[0], variance[0]);
}

TEST_CASE("local reparameterization, conv2d: each output is N(conv(x, mu), conv(x^2, s^2))") {
  manual_seed(42);
  nn::Conv2d conv(nn::Conv2dOptions(2, 3, 2).padding(1));
  conv->to(kFloat64);
  BayesianModule bnn(conv, BayesianOptions().estimator("local_reparameterization"));
  widen(bnn, -1.0);
  const Tensor image = randn({1, 2, 3, 3}, kFloat64);
  const Tensor out = bnn(image.expand({8000, 2, 3, 3}));
  auto& w = gaussian_of(*bnn, "weight");
  auto& b = gaussian_of(*bnn, "bias");
  NoGradGuard no_grad;
  const Tensor mean = conv2d(image, w.mu, b.mu, 1, 1);
  const Tensor variance = conv2d(image * image, w.sigma().pow(2), b.sigma().pow(2), 1, 1);
  check_moments(out.flatten(1), mean.flatten(), variance.flatten());
}

TEST_CASE("Flipout: over forward passes, each output has the plain estimator's mean and variance") {
  // Example n sees the perturbation (s * eps) * r_out[n] r_in[n]^T: each of its elements is
  // N(0, s^2), so every output is distributed as with a weight drawn for it alone.
  manual_seed(43);
  SUBCASE("linear") {
    nn::Linear linear(3, 2);
    linear->to(kFloat64);
    BayesianModule bnn(linear, BayesianOptions().estimator("flipout"));
    widen(bnn, -1.0);
    const Tensor x = tensor({{0.5, -1.5, 2.0}, {1.0, 0.25, -0.5}}, kFloat64);
    std::vector<Tensor> draws;
    {
      NoGradGuard no_grad;
      for (int pass = 0; pass < 6000; ++pass) draws.push_back(bnn(x).flatten());
    }
    auto& w = gaussian_of(*bnn, "weight");
    auto& b = gaussian_of(*bnn, "bias");
    NoGradGuard no_grad;
    const Tensor mean = F::linear(x, w.mu, b.mu).flatten();
    const Tensor variance = ((x * x).matmul(w.sigma().pow(2).t()) + b.sigma().pow(2)).flatten();
    check_moments(stack(draws), mean, variance);
  }
  SUBCASE("conv1d") {
    nn::Conv1d conv(nn::Conv1dOptions(2, 2, 3));
    conv->to(kFloat64);
    BayesianModule bnn(conv, BayesianOptions().estimator("flipout"));
    widen(bnn, -1.0);
    const Tensor x = randn({2, 2, 5}, kFloat64);
    std::vector<Tensor> draws;
    {
      NoGradGuard no_grad;
      for (int pass = 0; pass < 6000; ++pass) draws.push_back(bnn(x).flatten());
    }
    auto& w = gaussian_of(*bnn, "weight");
    auto& b = gaussian_of(*bnn, "bias");
    NoGradGuard no_grad;
    const Tensor mean = conv1d(x, w.mu, b.mu).flatten();
    const Tensor variance = conv1d(x * x, w.sigma().pow(2), b.sigma().pow(2)).flatten();
    check_moments(stack(draws), mean, variance);
  }
}

TEST_CASE("the estimators' gradients match finite differences (noise held fixed by reseeding)") {
  // f(mu_w, rho_w, mu_b, rho_b, x): the forward pass of a BNN whose variational parameters are the
  // inputs, the generator reseeded so that every evaluation draws the same noise.
  auto through = [](BayesianModule<>& bnn, auto forward) {
    return [&bnn, forward](const std::vector<Tensor>& in) {
      auto& w = gaussian_of(*bnn, "weight");
      auto& b = gaussian_of(*bnn, "bias");
      w.mu = in[0];
      w.rho = in[1];
      b.mu = in[2];
      b.rho = in[3];
      manual_seed(7);
      return forward(in[4]);
    };
  };
  auto leaves_for = [](nn::Module& module, const Tensor& x) {
    std::vector<Tensor> out;
    uint64_t seed = 1;
    for (const auto& p : module.named_parameters()) {
      const bool rho = p.key().ends_with("rho");
      out.push_back(rho ? test::leaf_in(p.value().sizes(), -2, 0, seed++)
                        : test::leaf(p.value().sizes(), seed++));
    }
    out.push_back(x);
    return out;
  };
  for (const char* estimator : {"local_reparameterization", "flipout"}) {
    INFO(estimator);
    const BayesianOptions options = BayesianOptions().estimator(estimator);
    {
      nn::Linear linear(3, 2);
      linear->to(kFloat64);
      BayesianModule<> bnn = BayesianModule(linear, options);
      // A non-contiguous input: the transpose of a [3, 4] leaf.
      const Tensor x = test::strided_leaf({4, 3}, 11);
      test::check_gradients(through(bnn, [&](const Tensor& in) { return bnn(in); }),
                            leaves_for(*bnn, x));
    }
    {
      nn::Conv2d conv(nn::Conv2dOptions(2, 2, 2).stride(2).padding(1));
      conv->to(kFloat64);
      BayesianModule<> bnn = BayesianModule(conv, options);
      test::check_gradients(through(bnn, [&](const Tensor& in) { return bnn(in); }),
                            leaves_for(*bnn, test::leaf({2, 2, 3, 3}, 12)), false);
    }
    {
      nn::Conv1d conv(nn::Conv1dOptions(2, 3, 2));
      conv->to(kFloat64);
      BayesianModule<> bnn = BayesianModule(conv, options);
      test::check_gradients(through(bnn, [&](const Tensor& in) { return bnn(in); }),
                            leaves_for(*bnn, test::leaf({2, 2, 4}, 13)), false);
    }
    {
      nn::ConvTranspose2d conv(nn::ConvTranspose2dOptions(2, 2, 2).stride(2));
      conv->to(kFloat64);
      BayesianModule<> bnn = BayesianModule(conv, options);
      // One image without its batch dim.
      test::check_gradients(through(bnn, [&](const Tensor& in) { return bnn(in); }),
                            leaves_for(*bnn, test::leaf({2, 2, 2}, 14)), false);
    }
  }
}

TEST_CASE("a row of zeros has zero output variance, and finite gradients") {
  manual_seed(44);
  nn::Linear linear(3, 2);
  linear->to(kFloat64);
  BayesianModule bnn(linear, BayesianOptions()
                                 .estimator("local_reparameterization")
                                 .rule("bias", Rule().estimator("reparameterization")));
  const Tensor out = bnn(zeros({2, 3}, kFloat64));
  CHECK(equal(out[0], out[1]));  // only the (shared) bias draw
  out.sum().backward();
  CHECK(isnan(gaussian_of(*bnn, "weight").rho.grad()).sum().item<int64_t>() == 0);
}

TEST_CASE("estimators leave the KL, the Mean mode and the Frozen mode as they are") {
  manual_seed(45);
  nn::Sequential net(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  nn::Sequential twin(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  BayesianModule plain(net);
  BayesianModule flipout(twin, BayesianOptions().estimator("flipout").rule(
                                   "2.*", Rule().estimator("local_reparameterization")));
  CHECK(flipout->posteriors()["0.weight"]->estimator() == bayes::Estimator::Flipout);
  CHECK(flipout->posteriors()["2.bias"]->estimator() == bayes::Estimator::LocalReparameterization);
  flipout->load_state_dict(plain->state_dict());
  CHECK(equal(flipout->kl_divergence(), plain->kl_divergence()));
  const Tensor x = randn({5, 3});
  flipout(x);
  CHECK(flipout->kl_divergence({.method = bayes::KLMethod::MonteCarlo}).defined());
  // Mean: the plain network with the means; Frozen: a weight draw, read directly.
  plain->set_mode(bayes::SampleMode::Mean);
  flipout->set_mode(bayes::SampleMode::Mean);
  CHECK(equal(flipout(x), plain(x)));
  flipout->set_mode(bayes::SampleMode::Frozen);
  const Tensor frozen = flipout(x);
  CHECK(equal(flipout(x), frozen));
  // Outside Sample mode the weight is a value any code may read.
  CHECK(equal(twin->ptr<nn::LinearImpl>(0)->weight, twin->ptr<nn::LinearImpl>(0)->weight));
}

TEST_CASE("estimator errors: a weight no linear or convolution reads, a non-Gaussian posterior") {
  bayes::test::register_test_types();
  manual_seed(46);
  bayes::test::Twice twice(3, 3);  // reads its weight with matmul
  BayesianModule bnn(
      twice, BayesianOptions().rule("weight", Rule().estimator("local_reparameterization")));
  test::check_error({"BayesianModule", "the parameter 'weight'", "local_reparameterization",
                     "linear, conv1d, conv2d and conv_transpose2d", "reparameterization"},
                    [&] {
                      bnn(randn({2, 3}));
                    });
  bnn->set_mode(bayes::SampleMode::Mean);
  CHECK(bnn(randn({2, 3})).sizes() == Shape{2, 3});

  nn::Linear linear(3, 2);
  test::check_error(
      {"BayesianModule (parameter 'weight')", "flipout", "independent Gaussian weights",
       "fixed_sigma"},
      [&] {
        BayesianModule(
            linear,
            BayesianOptions().posterior({"fixed_sigma", {{"sigma", 0.1}}}).estimator("flipout"));
      });
  test::check_error({"estimator: unknown name 'lrt'", "local_reparameterization", "flipout"},
                    [&] { BayesianModule(linear, BayesianOptions().estimator("lrt")); });
  CHECK_FALSE(nn::utils::is_parametrized(*linear));
  CHECK(bayes::estimator_from_name("FlipOut") == bayes::Estimator::Flipout);
}
