// The ELBO loss with its minibatch scaling, and the KL weighting schedules.

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
namespace F = bg::nn::functional;
using namespace bg;
using bayes::test::gaussian_of;

namespace {

// A 2 -> 1 linear BNN in float64 with the default N(0, 1) prior.
bayes::BayesianModule<> linear_bnn(bayes::SampleMode mode = bayes::SampleMode::Sample) {
  manual_seed(7);
  nn::Linear linear(2, 1);
  linear->to(kFloat64);
  return bayes::BayesianModule(linear, bayes::BayesianOptions().mode(mode));
}

}  // namespace

TEST_CASE("elbo_loss is the mean nll plus kl_weight times the summed KL over the dataset size") {
  bayes::BayesianModule bnn = linear_bnn();
  const Tensor nll = tensor({0.75}, kFloat64).reshape({});
  const double kl = bnn->kl_divergence().item<double>();
  CHECK(kl > 0);
  test::check_close(bayes::elbo_loss(nll, bnn, 40), {0.75 + kl / 40}, 1e-14);
  test::check_close(bayes::elbo_loss(nll, bnn, 40, 0.25), {0.75 + 0.25 * kl / 40}, 1e-14);
  // A one-element nll of any shape is accepted; the result is a scalar.
  CHECK(bayes::elbo_loss(nll.reshape({1, 1}), bnn, 40).dim() == 0);
}

TEST_CASE("elbo_loss differentiates the KL term with the 1/N factor") {
  // With a constant nll, d loss / d mu = (w / N) (mu - 0) / 1^2 for the N(0, 1) prior.
  bayes::BayesianModule bnn = linear_bnn();
  const Tensor nll = zeros({}, kFloat64);
  bayes::elbo_loss(nll, bnn, 8, 0.5).backward();
  const auto& q = gaussian_of(*bnn, "weight");
  test::check_close(q.mu.grad(), test::values(q.mu * (0.5 / 8)), 1e-12);
}

TEST_CASE(
    "averaged over the minibatches of an epoch, the minibatch ELBO is the full-data -ELBO / N") {
  // The derivation in elbo.h: the mean over a partition into equal batches of (batch-mean nll +
  // KL / N) equals (sum of all per-example nlls + KL) / N. Mean mode fixes the weights.
  bayes::BayesianModule bnn = linear_bnn(bayes::SampleMode::Mean);
  Generator generator(3);
  const Tensor x = randn({12, 2}, kFloat64, &generator), y = randn({12, 1}, kFloat64, &generator);
  const int64_t n = 12, batch = 4;
  double average = 0;
  for (int64_t start = 0; start < n; start += batch) {
    const Tensor xb = x.slice(0, start, start + batch), yb = y.slice(0, start, start + batch);
    average += bayes::elbo_loss(F::mse_loss(bnn(xb), yb), bnn, n).item<double>() / (n / batch);
  }
  const double full_nll_sum = F::mse_loss(bnn(x), y, nn::Reduction::Sum).item<double>();
  const double full = (full_nll_sum + bnn->kl_divergence().item<double>()) / n;
  CHECK(average == doctest::Approx(full).epsilon(1e-12));
  // The sum-reduced alternative: nll_sum + KL * B / N is B times the mean-reduced loss.
  const Tensor xb = x.slice(0, 0, batch), yb = y.slice(0, 0, batch);
  const double summed = F::mse_loss(bnn(xb), yb, nn::Reduction::Sum).item<double>() +
                        bnn->kl_divergence().item<double>() * batch / n;
  CHECK(summed ==
        doctest::Approx(batch * bayes::elbo_loss(F::mse_loss(bnn(xb), yb), bnn, n).item<double>())
            .epsilon(1e-12));
}

TEST_CASE("elbo_loss passes mc_samples to the KL of priors without a closed form") {
  manual_seed(11);
  nn::Linear linear(3, 2);
  bayes::BayesianModule bnn(linear, bayes::BayesianOptions().prior("scale_mixture"));
  const Tensor nll = tensor({0.5}).reshape({});
  manual_seed(5);
  const double loss = bayes::elbo_loss(nll, bnn, 100, 1.0, 16).item<double>();
  manual_seed(5);
  const double kl = bnn->kl_divergence({bayes::KLReduction::Sum, 16}).item<double>();
  CHECK(loss == doctest::Approx(0.5 + kl / 100).epsilon(1e-6));
}

TEST_CASE("elbo_loss rejects a non-scalar nll, an empty dataset and bad weights") {
  bayes::BayesianModule bnn = linear_bnn();
  test::check_error({"elbo_loss", "float64[4]", "mean"},
                    [&] { bayes::elbo_loss(zeros({4}, kFloat64), bnn, 10); });
  test::check_error({"elbo_loss", "int64"}, [&] { bayes::elbo_loss(zeros({}, kInt64), bnn, 10); });
  test::check_error({"elbo_loss", "dataset_size", "0"},
                    [&] { bayes::elbo_loss(zeros({}, kFloat64), bnn, 0); });
  test::check_error({"elbo_loss", "kl_weight", "-1"},
                    [&] { bayes::elbo_loss(zeros({}, kFloat64), bnn, 10, -1.0); });
  test::check_error({"elbo_loss", "kl_weight", "nan"},
                    [&] { bayes::elbo_loss(zeros({}, kFloat64), bnn, 10, test::kNaN); });
}

TEST_CASE("blundell_weight is 2^(M-i) / (2^M - 1) and the weights of an epoch sum to 1") {
  CHECK(bayes::blundell_weight(1, 1) == 1.0);
  CHECK(bayes::blundell_weight(1, 3) == doctest::Approx(4.0 / 7));
  CHECK(bayes::blundell_weight(2, 3) == doctest::Approx(2.0 / 7));
  CHECK(bayes::blundell_weight(3, 3) == doctest::Approx(1.0 / 7));
  for (const int64_t m : {2, 10, 60, 5000}) {
    double sum = 0;
    for (int64_t i = 1; i <= m; ++i) sum += bayes::blundell_weight(i, m);
    INFO("M = ", m);
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-12));
  }
  // Where 2^M overflows a double the weights stay finite: half of the KL on the first batch.
  CHECK(bayes::blundell_weight(1, 5000) == 0.5);
  CHECK(bayes::blundell_weight(5000, 5000) == 0.0);
  test::check_error({"blundell_weight", "batch 0 of 3"}, [] { bayes::blundell_weight(0, 3); });
  test::check_error({"blundell_weight", "batch 4 of 3"}, [] { bayes::blundell_weight(4, 3); });
}

TEST_CASE("KL schedules: constant, linear warm-up, Blundell's minibatch weights") {
  const bayes::KLSchedule constant = bayes::KLSchedule::constant(0.3);
  for (const int64_t step : {0, 1, 1000}) CHECK(constant.weight(step) == 0.3);
  CHECK(bayes::KLSchedule::constant().weight(5) == 1.0);

  const bayes::KLSchedule linear = bayes::KLSchedule::linear(4);
  const std::vector<double> ramp = {0, 0.25, 0.5, 0.75, 1, 1, 1};
  for (size_t step = 0; step < ramp.size(); ++step) {
    INFO("step ", step);
    CHECK(linear.weight(static_cast<int64_t>(step)) == ramp[step]);
  }
  CHECK(bayes::KLSchedule::linear(10, 0.5).weight(5) == 0.25);
  CHECK(bayes::KLSchedule::linear(10, 0.5).weight(50) == 0.5);

  // M pi_i for batch i = step % M + 1, so each epoch's weights average to 1.
  const bayes::KLSchedule blundell = bayes::KLSchedule::blundell(3);
  const std::vector<double> epoch = {12.0 / 7, 6.0 / 7, 3.0 / 7};
  double sum = 0;
  for (int64_t step = 0; step < 6; ++step) {
    INFO("step ", step);
    CHECK(blundell.weight(step) == doctest::Approx(epoch[step % 3]).epsilon(1e-15));
    sum += blundell.weight(step);
  }
  CHECK(sum / 6 == doctest::Approx(1.0).epsilon(1e-15));

  test::check_error({"KLSchedule::linear", "warmup_steps", "0"},
                    [] { bayes::KLSchedule::linear(0); });
  test::check_error({"KLSchedule::linear", "final_weight"},
                    [] { bayes::KLSchedule::linear(3, -2); });
  test::check_error({"KLSchedule::constant", "-1"}, [] { bayes::KLSchedule::constant(-1); });
  test::check_error({"KLSchedule::blundell", "num_batches", "0"},
                    [] { bayes::KLSchedule::blundell(0); });
  test::check_error({"KLSchedule::weight", "-1"}, [&] { linear.weight(-1); });
}
