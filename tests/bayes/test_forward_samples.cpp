// Vectorised Monte Carlo: bnn->forward_samples(x, S) evaluates S posterior draws in one batched
// pass. Each draw's output against the network run with that draw's weights, the multi-sample
// ELBO's gradient against finite differences, the KL of the S draws, and what cannot be
// vectorised.

#include <bg/bayes.h>
#include <doctest/doctest.h>

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

// Draw s of a Gaussian posterior after a vectorised pass: mu + sigma * noise[s].
Tensor draw(bayes::BayesianModuleImpl& bnn, const std::string& name, int64_t s) {
  auto& q = gaussian_of(bnn, name);
  return q.mu + q.sigma() * q.noise()[s];
}

}  // namespace

TEST_CASE("forward_samples: draw s of an MLP is the MLP with the weights of draw s") {
  manual_seed(51);
  nn::Sequential net(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  net->to(kFloat64);
  BayesianModule bnn(net, BayesianOptions().posterior({"gaussian", {{"rho", -1.0}}}));
  const Tensor x = randn({5, 3}, kFloat64);
  const Tensor out = bnn->forward_samples(x, 6);
  CHECK(out.sizes() == Shape{6, 5, 2});
  for (int64_t s = 0; s < 6; ++s) {
    const Tensor hidden = F::linear(x, draw(*bnn, "0.weight", s), draw(*bnn, "0.bias", s)).relu();
    test::check_close(
        out[s], test::values(F::linear(hidden, draw(*bnn, "2.weight", s), draw(*bnn, "2.bias", s))),
        1e-13, 1e-14);
  }
  CHECK_FALSE(equal(out[0], out[1]));
  // The scope is back to single draws: a plain forward pass works, and draws anew.
  CHECK(bnn->sampling_scope()->samples() == 0);
  CHECK(bnn(x).sizes() == Shape{5, 2});
  // Inputs with more dims: [batch, time, features].
  CHECK(bnn->forward_samples(randn({2, 7, 3}, kFloat64), 3).sizes() == Shape{3, 2, 7, 2});
}

TEST_CASE("forward_samples through conv1d, conv2d and conv_transpose2d (S draws as S groups)") {
  manual_seed(52);
  struct ConvNetImpl : nn::Module {
    ConvNetImpl() : Module("ConvNet") {
      conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(2, 4, 3).padding(1).groups(2)));
      up =
          register_module("up", nn::ConvTranspose2d(nn::ConvTranspose2dOptions(4, 2, 2).stride(2)));
      line = register_module("line", nn::Conv1d(nn::Conv1dOptions(2, 3, 3)));
    }
    Tensor forward(const Tensor& x) {
      const Tensor h = up(conv(x).relu());  // [N, 2, 8, 8]
      return line(h.flatten(2));            // [N, 3, 62]
    }
    nn::Conv2d conv = nullptr;
    nn::ConvTranspose2d up = nullptr;
    nn::Conv1d line = nullptr;
  };
  auto net = std::make_shared<ConvNetImpl>();
  net->to(kFloat64);
  BayesianModule bnn(net);
  const Tensor x = randn({3, 2, 4, 4}, kFloat64);
  const Tensor out = bnn->forward_samples(x, 4);
  CHECK(out.sizes() == Shape{4, 3, 3, 62});
  for (int64_t s = 0; s < 4; ++s) {
    const Tensor h = conv_transpose2d(
        conv2d(x, draw(*bnn, "conv.weight", s), draw(*bnn, "conv.bias", s), 1, 1, 1, 2).relu(),
        draw(*bnn, "up.weight", s), draw(*bnn, "up.bias", s), 2);
    const Tensor expected =
        conv1d(h.flatten(2), draw(*bnn, "line.weight", s), draw(*bnn, "line.bias", s));
    test::check_close(out[s], test::values(expected), 1e-12, 1e-13);
  }
}

TEST_CASE("a multi-sample ELBO through forward_samples: gradients match finite differences") {
  // f(mu, rho) = mean over S draws of sum(y_s^2), the generator reseeded so each evaluation uses
  // the same noise.
  nn::Sequential net(nn::Linear(2, 3), nn::Tanh(), nn::Linear(3, 1));
  net->to(kFloat64);
  BayesianModule<> bnn = BayesianModule(net);
  const Tensor x = randn({4, 2}, kFloat64);
  std::vector<Tensor> leaves;
  uint64_t seed = 1;
  for (const auto& item : bnn->named_parameters()) {
    leaves.push_back(item.key().ends_with("rho")
                         ? test::leaf_in(item.value().sizes(), -2, 0, seed++)
                         : test::leaf(item.value().sizes(), seed++));
  }
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        size_t i = 0;
        for (const auto& item : bnn->posteriors()) {
          auto& q = dynamic_cast<bayes::GaussianPosterior&>(*item.value());
          q.mu = in[i++];
          q.rho = in[i++];
        }
        manual_seed(9);
        return bnn->forward_samples(x, 5).pow(2).sum({1, 2}).mean();
      },
      leaves, false);
}

TEST_CASE("the KL after forward_samples: Monte Carlo averages the S draws") {
  manual_seed(53);
  nn::Linear linear(3, 2);
  BayesianModule bnn(linear, BayesianOptions().prior("scale_mixture"));
  bnn->forward_samples(randn({2, 3}), 7);
  double expected = 0;
  for (const auto& item : bnn->posteriors()) {
    for (int64_t s = 0; s < 7; ++s) {
      const Tensor w = draw(*bnn, item.key(), s);
      expected +=
          (item.value()->log_prob(w) - item.value()->prior()->log_prob(w)).sum().item<double>() / 7;
    }
  }
  CHECK(bnn->kl_divergence().item<double>() == doctest::Approx(expected).epsilon(1e-6));
  // A direct read in the same step sees the first of the S draws.
  test::check_close(linear->weight, test::values(draw(*bnn, "weight", 0)), 1e-6, 1e-7);
}

TEST_CASE("forward_samples with the other estimators, modes, and what it refuses") {
  manual_seed(54);
  SUBCASE("local reparameterization and Flipout: every row of every sample drawn on its own") {
    for (const char* estimator : {"local_reparameterization", "flipout"}) {
      nn::Linear linear(3, 2);
      BayesianModule bnn(linear, BayesianOptions().estimator(estimator).rule(
                                     "bias", Rule().estimator("reparameterization")));
      const Tensor out = bnn->forward_samples(ones({2, 3}), 5);
      CHECK(out.sizes() == Shape{5, 2, 2});
      CHECK_FALSE(equal(out[0][0], out[0][1]));  // the rows of one sample differ
      CHECK_FALSE(equal(out[0], out[1]));
    }
  }
  SUBCASE("Mean mode: every sample is the mean network") {
    nn::Linear linear(3, 2);
    BayesianModule bnn(linear, BayesianOptions().mode(bayes::SampleMode::Mean));
    const Tensor x = randn({4, 3});
    const Tensor out = bnn->forward_samples(x, 3);
    for (int64_t s = 0; s < 3; ++s) CHECK(equal(out[s], bnn(x)));
  }
  SUBCASE("errors") {
    nn::Linear linear(3, 2);
    BayesianModule bnn(linear);
    test::check_error({"forward_samples", "samples must be at least 1, got 0"}, [&] {
      bnn->forward_samples(randn({2, 3}), 0);
    });
    struct BatchMeanImpl : nn::Module {
      BatchMeanImpl() : Module("BatchMean") { fc = register_module("fc", nn::Linear(3, 2)); }
      Tensor forward(const Tensor& x) { return fc(x).mean(0); }
      nn::Linear fc = nullptr;
    };
    BayesianModule mean_of_batch(std::make_shared<BatchMeanImpl>());
    test::check_error({"forward_samples", "BatchMean returned", "must keep the batch dim"}, [&] {
      mean_of_batch->forward_samples(randn({4, 3}), 2);
    });
    bayes::test::Twice twice(3, 3);
    BayesianModule reads_directly(twice);
    CHECK_THROWS_AS(reads_directly->forward_samples(randn({2, 3}), 2), bayes::VectorizedReadError);
    CHECK(reads_directly->sampling_scope()->samples() == 0);  // reset after the error
    CHECK(reads_directly(randn({2, 3})).sizes() == Shape{2, 3});
  }
}
