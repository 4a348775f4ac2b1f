// More posteriors: pretrained_gaussian's tensor rho and MOPED's delta, and the low-rank-plus-
// diagonal Gaussian (its draws' covariance, its density and closed-form KL against formulas with
// the full covariance, and its gradients).

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
using namespace bg;
using bayes::BayesianModule;
using bayes::BayesianOptions;
using bayes::LowRankGaussianPosterior;

namespace {

using Matrix3 = std::array<std::array<double, 3>, 3>;

double det3(const Matrix3& m) {
  return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
         m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
         m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
}

Matrix3 inverse3(const Matrix3& m) {
  const double d = det3(m);
  Matrix3 inv;
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      // The cofactor of (j, i), divided by the determinant.
      const int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
      inv[i][j] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / d;
    }
  }
  return inv;
}

// A float64 low-rank posterior over a parameter of 3 elements with rank 2 and set values; its full
// covariance diag(d^2) + V V^T.
struct Fixture {
  std::shared_ptr<LowRankGaussianPosterior> q;
  std::vector<double> mu = {0.3, -0.5, 1.2}, rho = {-1.0, 0.5, -0.2};
  std::vector<double> v = {0.4, -0.1, 0.2, 0.6, -0.3, 0.25};  // [3, 2], row-major
  Matrix3 covariance{};
  Fixture() {
    q = std::dynamic_pointer_cast<LowRankGaussianPosterior>(
        bayes::make_posterior("lowrank_gaussian", zeros({3}, kFloat64), {{"rank", 2}}));
    {
      NoGradGuard no_grad;
      q->mu.copy_(tensor(mu, {3}, kFloat64));
      q->rho.copy_(tensor(rho, {3}, kFloat64));
      q->factor.copy_(tensor(v, {3, 2}, kFloat64));
    }
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) {
        covariance[i][j] = v[2 * i] * v[2 * j] + v[2 * i + 1] * v[2 * j + 1];
      }
      const double d = std::log1p(std::exp(rho[i]));
      covariance[i][i] += d * d;
    }
  }
  double log_density(const std::vector<double>& w) const {
    const Matrix3 inv = inverse3(covariance);
    double quadratic = 0;
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) quadratic += (w[i] - mu[i]) * inv[i][j] * (w[j] - mu[j]);
    }
    return -0.5 * (3 * std::log(2 * std::numbers::pi) + std::log(det3(covariance)) + quadratic);
  }
};

}  // namespace

TEST_CASE("pretrained_gaussian: rho as a tensor, or MOPED's sigma = delta |w|") {
  const Tensor trained = tensor({{0.5, -2.0, 0.0}, {1.0, 0.25, -0.1}});
  SUBCASE("a tensor rho, broadcast") {
    auto q = std::dynamic_pointer_cast<bayes::GaussianPosterior>(bayes::make_posterior(
        "pretrained_gaussian", trained, {{"rho", tensor({{-1.0, -2.0, -3.0}})}}));
    test::check_close(q->rho, {-1, -2, -3, -1, -2, -3}, 0);
    test::check_error(
        {"pretrained_gaussian posterior", "'rho' of shape [4]", "parameter's shape [2, 3]"}, [&] {
          bayes::make_posterior("pretrained_gaussian", trained, {{"rho", zeros({4})}});
        });
  }
  SUBCASE("MOPED: sigma = delta |w|; a weight of 0 gets sigma ~ 1e-20") {
    auto q = std::dynamic_pointer_cast<bayes::GaussianPosterior>(
        bayes::make_posterior("pretrained_gaussian", trained.to(kFloat64), {{"delta", 0.1}}));
    const std::vector<double> w = test::values(trained), sigma = test::values(q->sigma());
    for (size_t i = 0; i < w.size(); ++i) {
      if (w[i] == 0) {
        CHECK(sigma[i] == doctest::Approx(1e-20).epsilon(1e-6));
      } else {
        CHECK(sigma[i] == doctest::Approx(0.1 * std::abs(w[i])).epsilon(1e-12));
      }
    }
    CHECK(equal(q->mu, trained.to(kFloat64)));
    q->validate();  // every sigma positive
    test::check_error({"pretrained_gaussian posterior", "rho or delta, not both"}, [&] {
      bayes::make_posterior("pretrained_gaussian", trained, {{"delta", 0.1}, {"rho", -3.0}});
    });
    test::check_error({"delta must be positive and finite, got -1"}, [&] {
      bayes::make_posterior("pretrained_gaussian", trained, {{"delta", -1.0}});
    });
  }
  SUBCASE("a whole trained model converted with MOPED, and a NaN rho refused") {
    nn::Linear linear(3, 2);
    const Tensor weight = linear->weight.detach().clone();
    BayesianModule bnn(linear,
                       BayesianOptions().posterior({"pretrained_gaussian", {{"delta", 0.05}}}));
    test::check_close(bayes::test::gaussian_of(*bnn, "weight").sigma(),
                      test::values(weight.abs() * 0.05), 1e-5, 1e-9);
    nn::Linear other(3, 2);
    test::check_error({"'weight'", "NaN or not positive"}, [&] {
      BayesianModule(other, BayesianOptions().posterior(
                                {"pretrained_gaussian", {{"rho", full({2, 3}, std::nan(""))}}}));
    });
  }
}

TEST_CASE("low-rank Gaussian: draws have the covariance diag(d^2) + V V^T") {
  Fixture f;
  CHECK(f.q->noise_shape() == Shape{5});
  CHECK(f.q->rank() == 2);
  manual_seed(71);
  const int64_t n = 200000;
  const Tensor draws = f.q->sample(randn({n, 5}, kFloat64));  // [n, 3]
  CHECK(draws.sizes() == Shape{n, 3});
  const Tensor centered = draws - draws.mean(0);
  const std::vector<double> empirical = test::values(centered.t().matmul(centered) / n);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      // The standard error of a covariance estimate is about sqrt((s_ii s_jj + s_ij^2) / n).
      const double se = std::sqrt(
          (f.covariance[i][i] * f.covariance[j][j] + f.covariance[i][j] * f.covariance[i][j]) / n);
      CHECK(std::abs(empirical[3 * i + j] - f.covariance[i][j]) < 5 * se);
    }
  }
  test::check_close(draws.mean(0), f.mu, 0, 0.02);
}

TEST_CASE("low-rank Gaussian: log q(w) and the KL to a Gaussian prior against full matrices") {
  Fixture f;
  const std::vector<double> w = {0.1, 0.2, -0.3}, w2 = {1.0, -1.0, 0.5};
  CHECK(f.q->log_prob(tensor(w, {3}, kFloat64)).item<double>() ==
        doctest::Approx(f.log_density(w)).epsilon(1e-13));
  // Several draws at once: one log density each.
  test::check_close(f.q->log_prob(tensor(std::vector<double>{w[0], w[1], w[2], w2[0], w2[1], w2[2]},
                                         {2, 3}, kFloat64)),
                    {f.log_density(w), f.log_density(w2)}, 1e-13);
  CHECK(f.q->log_det_covariance().item<double>() ==
        doctest::Approx(std::log(det3(f.covariance))).epsilon(1e-13));

  // KL(q || N(m, diag(s^2))) = (tr(S^-1 C) + (mu - m)^T S^-1 (mu - m) - n + log det S - log det C)
  // / 2
  const std::vector<double> m = {0.1, 0.0, -0.2}, s = {1.0, 0.5, 2.0};
  f.q->set_prior(
      bayes::make_prior("gaussian", zeros({3}, kFloat64),
                        {{"mu", tensor(m, {3}, kFloat64)}, {"sigma", tensor(s, {3}, kFloat64)}}));
  double expected = -3 - std::log(det3(f.covariance));
  for (int i = 0; i < 3; ++i) {
    expected += (f.covariance[i][i] + (f.mu[i] - m[i]) * (f.mu[i] - m[i])) / (s[i] * s[i]) +
                2 * std::log(s[i]);
  }
  expected *= 0.5;
  const double closed = bayes::kl_divergence(*f.q, Tensor()).item<double>();
  CHECK(closed == doctest::Approx(expected).epsilon(1e-13));
  // Monte Carlo agrees within its standard error (1/sqrt(20000) of a spread of about 1.5).
  manual_seed(72);
  const double mc =
      bayes::kl_divergence(*f.q, Tensor(), {20000, bayes::KLMethod::MonteCarlo}).item<double>();
  CHECK(std::abs(mc - closed) < 5 * 1.5 / std::sqrt(20000.0));
}

TEST_CASE(
    "low-rank Gaussian: gradients of the KL, of log q and of a draw match finite differences") {
  Fixture f;
  f.q->set_prior(bayes::make_prior("gaussian", zeros({3}, kFloat64), {{"sigma", 0.7}}));
  const Tensor noise = tensor({0.3, -1.2, 0.7, 0.5, -0.4}, kFloat64);
  const Tensor w = tensor({0.1, 0.2, -0.3}, kFloat64);
  auto with = [&](const std::vector<Tensor>& in) {
    f.q->mu = in[0];
    f.q->rho = in[1];
    f.q->factor = in[2];
  };
  const std::vector<Tensor> leaves = {test::leaf({3}, 1), test::leaf_in({3}, -1, 1, 2),
                                      test::leaf({3, 2}, 3)};
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        with(in);
        return bayes::kl_divergence(*f.q, Tensor());
      },
      leaves);
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        with(in);
        return f.q->log_prob(w);
      },
      leaves);
  test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        with(in);
        return f.q->sample(noise);
      },
      leaves, false);
}

TEST_CASE("a BNN with low-rank posteriors: trains, samples S at once, round-trips") {
  manual_seed(73);
  nn::Sequential net(nn::Linear(2, 4), nn::Tanh(), nn::Linear(4, 1));
  BayesianModule bnn(net, BayesianOptions().posterior({"lowrank_gaussian", {{"rank", 3}}}));
  const Tensor x = randn({32, 2}), y = x.sum(1, true).sin();
  optim::Adam optimizer(bnn->parameters(), optim::AdamOptions(0.02));
  double first = 0, last = 0;
  for (int step = 0; step < 200; ++step) {
    optimizer.zero_grad();
    const Tensor loss = bayes::elbo_loss(nn::functional::mse_loss(bnn(x), y), bnn, 32);
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
    loss.backward();
    optimizer.step();
  }
  CHECK(last < first);
  CHECK(bnn->forward_samples(x, 5).sizes() == Shape{5, 32, 1});
  test::check_error(
      {"local_reparameterization", "independent Gaussian weights", "lowrank_gaussian"}, [&] {
        nn::Linear linear(2, 2);
        BayesianModule(
            linear,
            BayesianOptions().posterior("lowrank_gaussian").estimator("local_reparameterization"));
      });
  test::check_error({"lowrank_gaussian posterior", "rank must be a whole number"}, [&] {
    bayes::make_posterior("lowrank_gaussian", zeros({3}), {{"rank", 1.5}});
  });
}
