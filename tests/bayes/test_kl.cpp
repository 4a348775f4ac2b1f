// KL divergences: closed forms against formulas and numerical integrals, Monte Carlo estimates
// against their standard errors, gradients against finite differences, reductions.

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <numbers>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
using namespace bg;
using bayes::BayesianModule;
using bayes::BayesianOptions;
using bayes::GaussianPosterior;

namespace {

double softplus(double x) { return std::log1p(std::exp(x)); }

// A float64 Gaussian posterior with the given mu and rho, compared with the prior `name`.
std::shared_ptr<GaussianPosterior> posterior(const Tensor& mu, const Tensor& rho,
                                             const std::string& prior,
                                             const bayes::Args& prior_args = {}) {
  auto q = std::dynamic_pointer_cast<GaussianPosterior>(bayes::make_posterior("gaussian", mu));
  {
    NoGradGuard no_grad;
    q->mu.copy_(mu);
    q->rho.copy_(rho);
  }
  q->set_prior(bayes::make_prior(prior, mu, prior_args));
  return q;
}

// n identical elements: one posterior N(m, softplus(rho)^2) repeated, for Monte Carlo statistics.
std::shared_ptr<GaussianPosterior> repeated(int64_t n, double m, double rho,
                                            const std::string& prior,
                                            const bayes::Args& prior_args = {}) {
  return posterior(full({n}, m, kFloat64), full({n}, rho, kFloat64), prior, prior_args);
}

// The trapezoid rule for f over [lo, hi] with n intervals.
double integrate(const std::function<double(double)>& f, double lo, double hi, int n) {
  const double h = (hi - lo) / n;
  double sum = 0.5 * (f(lo) + f(hi));
  for (int i = 1; i < n; ++i) sum += f(lo + i * h);
  return sum * h;
}

double normal_log_pdf(double w, double mu, double sigma) {
  const double z = (w - mu) / sigma;
  return -0.5 * z * z - std::log(sigma) - 0.5 * std::log(2 * std::numbers::pi);
}

// KL(N(m, s^2) || p) = E_q[log q - log p] by numerical integration over m +- 12 s.
double integrated_kl(double m, double s, const std::function<double(double)>& log_p) {
  return integrate(
      [&](double w) {
        return std::exp(normal_log_pdf(w, m, s)) * (normal_log_pdf(w, m, s) - log_p(w));
      },
      m - 12 * s, m + 12 * s, 400000);
}

// The standard deviation of log q(w) - log p(w) for w ~ q, elementwise, estimated from the
// posterior's own fresh draws (the spread of one Monte Carlo term).
double term_std(GaussianPosterior& q, int64_t draws) {
  std::vector<double> terms;
  for (int64_t i = 0; i < draws; ++i) {
    const Tensor w = q.fresh_sample();
    for (double t : test::values(q.log_prob(w) - q.prior()->log_prob(w))) terms.push_back(t);
  }
  double mean = 0, m2 = 0;
  for (double t : terms) mean += t / terms.size();
  for (double t : terms) m2 += (t - mean) * (t - mean);
  return std::sqrt(m2 / (terms.size() - 1));
}

}  // namespace

TEST_CASE("Gaussian-Gaussian KL equals the closed form, for scalar and tensor priors") {
  // KL = log(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2 per element, summed.
  const std::vector<double> mu = {0.3, -1.2, 0.0, 2.5, 0.7, -0.1};
  const std::vector<double> rho = {-3.0, -1.0, 0.5, -6.0, 2.0, -0.2};
  const std::vector<double> prior_mu = {0.1, -0.5, 0.0, 1.0, 0.3, 0.2};
  const std::vector<double> prior_sigma = {1.0, 0.5, 2.0, 0.1, 3.0, 0.8};
  auto closed_form = [&](auto m2, auto s2) {
    double kl = 0;
    for (size_t i = 0; i < mu.size(); ++i) {
      const double s1 = softplus(rho[i]), d = mu[i] - m2(i);
      kl += std::log(s2(i) / s1) + (s1 * s1 + d * d) / (2 * s2(i) * s2(i)) - 0.5;
    }
    return kl;
  };
  const Tensor mu_t = tensor(mu, {2, 3}, kFloat64), rho_t = tensor(rho, {2, 3}, kFloat64);
  SUBCASE("scalar prior") {
    auto q = posterior(mu_t, rho_t, "gaussian", {{"mu", 0.25}, {"sigma", 1.5}});
    const double expected = closed_form([](size_t) { return 0.25; }, [](size_t) { return 1.5; });
    CHECK(bayes::kl_divergence(*q, q->current_sample()).item<double>() ==
          doctest::Approx(expected).epsilon(1e-14));
    CHECK(bayes::kl_gaussian_gaussian(*q, *q->prior()).item<double>() ==
          doctest::Approx(expected).epsilon(1e-14));
  }
  SUBCASE("tensor prior, full shape and broadcast") {
    auto q = posterior(mu_t, rho_t, "normal",
                       {{"mu", tensor(prior_mu, {2, 3}, kFloat64)},
                        {"sigma", tensor(prior_sigma, {2, 3}, kFloat64)}});
    const double expected = closed_form([&](size_t i) { return prior_mu[i]; },
                                        [&](size_t i) { return prior_sigma[i]; });
    CHECK(bayes::kl_divergence(*q, q->current_sample()).item<double>() ==
          doctest::Approx(expected).epsilon(1e-14));
    // One sigma per column, broadcast over rows.
    auto columns =
        posterior(mu_t, rho_t, "gaussian", {{"sigma", tensor({0.5, 1.0, 2.0}, kFloat64)}});
    const double by_column = closed_form([](size_t) { return 0.0; },
                                         [](size_t i) {
                                           return std::vector{0.5, 1.0, 2.0}[i % 3];
                                         });
    CHECK(bayes::kl_divergence(*columns, columns->current_sample()).item<double>() ==
          doctest::Approx(by_column).epsilon(1e-14));
  }
  SUBCASE("float32 agrees to float32 precision") {
    auto q = posterior(mu_t.to(kFloat32), rho_t.to(kFloat32), "gaussian");
    const double expected = closed_form([](size_t) { return 0.0; }, [](size_t) { return 1.0; });
    CHECK(bayes::kl_divergence(*q, q->current_sample()).item<double>() ==
          doctest::Approx(expected).epsilon(1e-5));
  }
}

TEST_CASE("Gaussian-Laplace KL equals a numerical integral and the Monte Carlo estimate") {
  struct Case {
    double m, rho, mu, b;
  };
  for (const Case c : {Case{0.3, -0.5, -0.2, 0.7}, Case{0.0, -3.0, 0.0, 1.0},
                       Case{2.0, 1.0, -1.0, 0.3}, Case{-0.05, -4.0, 0.0, 0.1}}) {
    INFO("m = ", c.m, ", rho = ", c.rho, ", laplace(", c.mu, ", ", c.b, ")");
    const double s = softplus(c.rho);
    const double expected = integrated_kl(
        c.m, s, [&](double w) { return -std::abs(w - c.mu) / c.b - std::log(2 * c.b); });
    auto q = repeated(1, c.m, c.rho, "laplace", {{"mu", c.mu}, {"b", c.b}});
    CHECK(bayes::kl_divergence(*q, q->current_sample()).item<double>() ==
          doctest::Approx(expected).epsilon(1e-9));
  }
  // Monte Carlo with fresh draws (forced): 20000 independent terms summed.
  manual_seed(11);
  const int64_t n = 20000;
  auto q = repeated(n, 0.3, -0.5, "laplace", {{"mu", -0.2}, {"b", 0.7}});
  const double analytic = bayes::kl_divergence(*q, q->current_sample()).item<double>();
  const double mc = bayes::kl_divergence(*q, q->current_sample(), {1, bayes::KLMethod::MonteCarlo})
                        .item<double>();
  const double standard_error = std::sqrt(static_cast<double>(n)) * term_std(*q, 2);
  CHECK(std::abs(mc - analytic) < 4 * standard_error);
  CHECK(standard_error < 0.05 * analytic);  // the check has teeth
}

TEST_CASE("Monte Carlo KL converges to the value without closed form, within its standard error") {
  // The scale mixture has no closed form: its KL comes from log q(w) - log p(w) at the draws.
  const double m = 0.05, rho = -3.0, s = softplus(rho);
  const double pi = 0.5, s1 = 1.0, s2 = std::exp(-6.0);
  const double reference = integrated_kl(m, s, [&](double w) {
    return std::log(pi * std::exp(normal_log_pdf(w, 0, s1)) +
                    (1 - pi) * std::exp(normal_log_pdf(w, 0, s2)));
  });
  const int64_t n = 20000;
  manual_seed(12);
  auto q = repeated(n, m, rho, "scale_mixture");
  const double spread = term_std(*q, 2);
  SUBCASE("from the current draw (mc_samples = 0)") {
    q->sampling_scope()->begin_step();
    const Tensor w = q->current_sample();
    const double mc = bayes::kl_divergence(*q, w).item<double>();
    CHECK(mc == doctest::Approx((q->log_prob(w) - q->prior()->log_prob(w)).sum().item<double>())
                    .epsilon(1e-12));
    CHECK(std::abs(mc - n * reference) < 4 * std::sqrt(static_cast<double>(n)) * spread);
  }
  SUBCASE("from fresh draws (mc_samples = 4): the error shrinks by 2") {
    const Tensor eps = q->noise().clone();
    const double mc = bayes::kl_divergence(*q, q->current_sample(), {4}).item<double>();
    CHECK(std::abs(mc - n * reference) < 4 * std::sqrt(n / 4.0) * spread);
    CHECK(equal(q->noise(), eps));  // fresh draws leave the noise of the forward pass alone
  }
  SUBCASE("forced Monte Carlo on a pair with a closed form agrees with it") {
    auto g = repeated(n, 0.4, -1.0, "gaussian", {{"sigma", 0.8}});
    const double analytic = bayes::kl_divergence(*g, g->current_sample()).item<double>();
    const double mc =
        bayes::kl_divergence(*g, g->current_sample(), {2, bayes::KLMethod::MonteCarlo})
            .item<double>();
    CHECK(std::abs(mc - analytic) < 4 * std::sqrt(n / 2.0) * term_std(*g, 1));
  }
}

TEST_CASE("the KL's gradients with respect to mu and rho match finite differences") {
  const Tensor mu = test::leaf({2, 3}, 1), rho = test::leaf_in({2, 3}, -2, 1, 2);
  // Builds a posterior whose mu and rho are the inputs, so that gradcheck differentiates through
  // them.
  auto kl_of = [](const std::string& prior, const bayes::Args& args, bool monte_carlo) {
    return [=](const std::vector<Tensor>& in) {
      auto q = posterior(in[0].detach(), in[1].detach(), prior, args);
      q->mu = in[0];
      q->rho = in[1];
      const Tensor eps = tensor({{0.3, -1.1, 0.8}, {0.05, -0.4, 1.7}}, kFloat64);
      const Tensor w = in[0] + bg::softplus(in[1]) * eps;  // the reparameterized draw
      return bayes::kl_divergence(
          *q, w, {0, monte_carlo ? bayes::KLMethod::MonteCarlo : bayes::KLMethod::Auto});
    };
  };
  SUBCASE("Gaussian prior, closed form") {
    test::check_gradients(kl_of("gaussian", {{"sigma", 0.7}}, false), {mu, rho});
  }
  SUBCASE("Laplace prior, closed form") {
    test::check_gradients(kl_of("laplace", {{"mu", 0.2}, {"b", 0.5}}, false), {mu, rho});
  }
  SUBCASE("scale mixture, Monte Carlo at a reparameterized draw") {
    test::check_gradients(kl_of("scale_mixture", {{"sigma2", 0.3}}, true), {mu, rho});
  }
  SUBCASE("non-contiguous mu and rho") {
    test::check_gradients(kl_of("gaussian", {}, false),
                          {test::strided_leaf({2, 3}, 3), test::strided_leaf({2, 3}, 4, -2, 0)});
  }
  SUBCASE("tensor-valued prior parameters") {
    const Tensor prior_mu = test::leaf({3}, 5), prior_sigma = test::leaf_in({2, 1}, 0.5, 2, 6);
    test::check_gradients(
        [](const std::vector<Tensor>& in) {
          auto q = posterior(in[0].detach(), in[1].detach(), "gaussian");
          auto& p = dynamic_cast<bayes::GaussianPrior&>(*q->prior());
          q->mu = in[0];
          q->rho = in[1];
          p.mu = bayes::PriorArgument(in[2]);
          p.sigma = bayes::PriorArgument(in[3]);
          return bayes::kl_gaussian_gaussian(*q, p);
        },
        {mu, rho, prior_mu, prior_sigma});
  }
  SUBCASE("through the BayesianModule's variational parameters") {
    nn::Linear linear(2, 2);
    linear->to(kFloat64);
    BayesianModule bnn(linear);
    auto& w = bayes::test::gaussian_of(*bnn, "weight");
    CHECK(autograd::gradcheck(
        [&](const std::vector<Tensor>& in) {
          w.mu = in[0];
          w.rho = in[1];
          return bnn->kl_divergence({bayes::KLReduction::Mean});
        },
        {test::leaf({2, 2}, 7), test::leaf_in({2, 2}, -3, 0, 8)}));
  }
}

TEST_CASE("reductions: the mean divides the sum by the number of Bayesian weights") {
  manual_seed(13);
  nn::Sequential net(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2));
  BayesianModule bnn(net, BayesianOptions().deterministic("2.bias"));
  const double sum = bnn->kl_divergence({bayes::KLReduction::Sum}).item<double>();
  const double mean = bnn->kl_divergence({bayes::KLReduction::Mean}).item<double>();
  CHECK(mean == doctest::Approx(sum / (12 + 4 + 8)).epsilon(1e-6));
  // The sum is the sum over posteriors of each one's KL.
  double by_posterior = 0;
  for (const auto& item : bnn->posteriors()) {
    by_posterior += bayes::kl_divergence(*item.value(), Tensor()).item<double>();
  }
  CHECK(sum == doctest::Approx(by_posterior).epsilon(1e-6));
  test::check_error({"kl_divergence", "mc_samples", "-1"}, [&] {
    bnn->kl_divergence({bayes::KLReduction::Sum, -1});
  });
}

TEST_CASE("a BNN's KL: the forward pass's draw by default, n fresh draws with mc_samples") {
  manual_seed(14);
  nn::Linear linear(3, 2);
  BayesianModule bnn(linear, BayesianOptions().prior("scale_mixture"));
  auto& w = bayes::test::gaussian_of(*bnn, "weight");
  auto& b = bayes::test::gaussian_of(*bnn, "bias");
  bnn(randn({1, 3}));
  // mc_samples = 0: log q - log p at the weights the forward pass used.
  const double at_draw = bnn->kl_divergence().item<double>();
  double expected = 0;
  for (auto* q : {&w, &b}) {
    const Tensor value = q == &w ? linear->weight : linear->bias;
    expected += (q->log_prob(value) - q->prior()->log_prob(value)).sum().item<double>();
  }
  CHECK(at_draw == doctest::Approx(expected).epsilon(1e-6));
  CHECK(bnn->kl_divergence().item<double>() == at_draw);  // no new draw without a forward pass

  // mc_samples = 3: the mean over three fresh draws per posterior, replayed here from the seed.
  manual_seed(15);
  const double fresh = bnn->kl_divergence({bayes::KLReduction::Sum, 3}).item<double>();
  manual_seed(15);
  double replayed = 0;
  for (auto* q : {&w, &b}) {
    for (int i = 0; i < 3; ++i) {
      const Tensor value = q->mu + bg::softplus(q->rho) * randn_like(q->mu);
      replayed += (q->log_prob(value) - q->prior()->log_prob(value)).sum().item<double>() / 3;
    }
  }
  CHECK(fresh == doctest::Approx(replayed).epsilon(1e-5));

  // ClosedForm refuses a pair without one.
  test::check_error({"kl_divergence", "no closed form", "posterior 'gaussian'",
                     "prior 'scale_mixture'", "KLMethod::MonteCarlo"},
                    [&] { bnn->kl_divergence({.method = bayes::KLMethod::ClosedForm}); });

  // Pairs with a closed form ignore mc_samples, unless Monte Carlo is forced: then the forward
  // pass's draw (mc_samples = 0) or fresh draws, as for a pair without one.
  nn::Linear other(3, 2);
  BayesianModule gaussian(other);
  const double closed = gaussian->kl_divergence().item<double>();
  CHECK(gaussian->kl_divergence({bayes::KLReduction::Sum, 5}).item<double>() == closed);
  CHECK(gaussian->kl_divergence({.method = bayes::KLMethod::ClosedForm}).item<double>() == closed);
  gaussian(randn({1, 3}));
  double at_gaussian_draw = 0;
  for (const auto& item : gaussian->posteriors()) {
    const Tensor value = item.key() == "weight" ? other->weight : other->bias;
    at_gaussian_draw += (item.value()->log_prob(value) - item.value()->prior()->log_prob(value))
                            .sum()
                            .item<double>();
  }
  CHECK(gaussian->kl_divergence({.method = bayes::KLMethod::MonteCarlo}).item<double>() ==
        doctest::Approx(at_gaussian_draw).epsilon(1e-6));
  manual_seed(16);
  const double forced =
      gaussian->kl_divergence({.mc_samples = 4000, .method = bayes::KLMethod::MonteCarlo})
          .item<double>();
  CHECK(forced != closed);
  CHECK(forced == doctest::Approx(closed).epsilon(0.01));
}

TEST_CASE("a user-registered closed-form KL is used for its pair") {
  bayes::test::register_test_types();
  manual_seed(16);
  nn::Linear linear(3, 2);
  BayesianModule bnn(linear, BayesianOptions()
                                 .posterior({"fixed_sigma", {{"sigma", 0.2}}})
                                 .prior({"gaussian", {{"mu", 0.1}, {"sigma", 0.5}}}));
  {
    NoGradGuard no_grad;
    for (Tensor& p : bnn->parameters()) p.copy_(randn_like(p));
  }
  bnn(randn({1, 3}));
  double expected = 0;  // the user's formula, by hand
  for (const auto& item : bnn->posteriors()) {
    for (const double m :
         test::values(dynamic_cast<bayes::test::FixedSigmaPosterior&>(*item.value()).mu)) {
      expected += std::log(0.5 / 0.2) + (0.2 * 0.2 + (m - 0.1) * (m - 0.1)) / (2 * 0.5 * 0.5) - 0.5;
    }
  }
  const double kl = bnn->kl_divergence().item<double>();
  CHECK(kl == doctest::Approx(expected).epsilon(1e-6));
  // The Monte Carlo estimate at the current draw differs: the closed form was the one used.
  double at_draw = 0;
  for (const auto& item : bnn->posteriors()) {
    at_draw +=
        bayes::kl_divergence(*item.value(), item.key() == "weight" ? linear->weight : linear->bias,
                             {0, bayes::KLMethod::MonteCarlo})
            .item<double>();
  }
  CHECK(std::abs(at_draw - kl) > 1e-3);
  CHECK(bayes::find_kl("FIXED_SIGMA", "normal") != nullptr);
  CHECK(bayes::find_kl("fixed_sigma", "laplace") == nullptr);
  test::check_error({"register_kl", "(fixed_sigma, gaussian)", "already registered"}, [] {
    bayes::register_kl("fixed_sigma", "normal", bayes::test::kl_fixed_sigma_gaussian);
  });
  test::check_error({"posterior: unknown name 'nope'"}, [] {
    bayes::register_kl("nope", "gaussian", bayes::test::kl_fixed_sigma_gaussian);
  });
}

TEST_CASE("a BNN's closed-form KL joins its backward to the forward pass's draw: same gradients") {
  manual_seed(4);
  nn::Linear linear(3, 2);
  linear->to(kFloat64);
  BayesianModule bnn(linear);
  const Tensor x = test::leaf({5, 3}, 1).detach();
  const Tensor out = bnn(x);
  const Tensor nll = (out * out).sum(), kl = bnn->kl_divergence();
  // The weight's draw is the one the KL joins (Note [Joined Gaussian backward]).
  auto& q = bayes::test::gaussian_of(*bnn, "weight");
  REQUIRE(q.last_draw().defined());
  CHECK(q.last_draw().grad_fn() != nullptr);
  const std::vector<Tensor> params = bnn->parameters();
  const auto keep = autograd::GradOptions().retain_graph(true);
  const auto joined = autograd::grad({nll + kl}, params, {}, keep);
  // Apart: the likelihood's gradients, then the KL's alone.
  const auto nll_grads = autograd::grad({nll}, params, {}, keep);
  const auto kl_grads = autograd::grad({kl}, params, {}, keep);
  REQUIRE(joined.size() == params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    INFO("parameter ", i);
    CHECK(allclose(joined[i], nll_grads[i] + kl_grads[i], 1e-13, 1e-13));
  }
}
