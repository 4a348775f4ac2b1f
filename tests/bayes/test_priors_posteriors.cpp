// Priors, posteriors, their arguments and the registries.

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numbers>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
using namespace bg;
using bayes::Args;
using bayes::BayesianModule;
using bayes::BayesianOptions;
using bayes::GaussianPosterior;

namespace {

const double kLogSqrt2Pi = 0.5 * std::log(2 * std::numbers::pi);
const std::vector<double> kW = {-2.5, -0.3, 0.0, 0.01, 1.7, 40.0};

Tensor weights() { return tensor(kW, {2, 3}, kFloat64); }

double normal_log_pdf(double w, double mu, double sigma) {
  const double z = (w - mu) / sigma;
  return -0.5 * z * z - std::log(sigma) - kLogSqrt2Pi;
}

// f applied to every element of kW.
std::vector<double> map_w(const std::function<double(double)>& f) {
  std::vector<double> out;
  for (double w : kW) out.push_back(f(w));
  return out;
}

std::shared_ptr<bayes::Prior> prior(const std::string& name, const Args& args = {}) {
  return bayes::make_prior(name, weights(), args);
}

}  // namespace

TEST_CASE("prior log densities equal their formulas") {
  SUBCASE("gaussian, scalar and tensor arguments") {
    test::check_close(prior("gaussian", {{"mu", 0.5}, {"sigma", 2.0}})->log_prob(weights()),
                      map_w([](double w) { return normal_log_pdf(w, 0.5, 2.0); }), 1e-14);
    const Tensor sigma = tensor({0.5, 1.0, 3.0}, kFloat64);
    const std::vector<double> expected = {
        normal_log_pdf(kW[0], 0, 0.5), normal_log_pdf(kW[1], 0, 1), normal_log_pdf(kW[2], 0, 3),
        normal_log_pdf(kW[3], 0, 0.5), normal_log_pdf(kW[4], 0, 1), normal_log_pdf(kW[5], 0, 3)};
    test::check_close(prior("normal", {{"sigma", sigma}})->log_prob(weights()), expected, 1e-14);
  }
  SUBCASE("laplace: -|w - mu| / b - log(2b)") {
    test::check_close(prior("laplace", {{"mu", -0.2}, {"b", 0.4}})->log_prob(weights()),
                      map_w([](double w) { return -std::abs(w + 0.2) / 0.4 - std::log(0.8); }),
                      1e-14);
  }
  SUBCASE("scale mixture: log(pi N(0, s1^2) + (1 - pi) N(0, s2^2))") {
    // The sum computed stably in double: at w = 40 the default's N(0, 1) density underflows.
    auto mixture = [](double pi, double s1, double s2) {
      return [=](double w) {
        const double a = std::log(pi) + normal_log_pdf(w, 0, s1),
                     b = std::log1p(-pi) + normal_log_pdf(w, 0, s2);
        return std::max(a, b) + std::log1p(std::exp(std::min(a, b) - std::max(a, b)));
      };
    };
    test::check_close(prior("scale_mixture", {{"pi", 0.25}, {"sigma1", 1.5}, {"sigma2", 0.1}})
                          ->log_prob(weights()),
                      map_w(mixture(0.25, 1.5, 0.1)), 1e-13);
    // Defaults: pi = 1/2, sigma1 = 1, sigma2 = e^-6.
    test::check_close(prior("scale_mixture")->log_prob(weights()),
                      map_w(mixture(0.5, 1.0, std::exp(-6.0))), 1e-13);
  }
  SUBCASE("a user-registered Student-t") {
    bayes::test::register_test_types();
    const double df = 2.5, mu = 0.3, scale = 0.8;
    test::check_close(
        prior("student_t", {{"df", df}, {"mu", mu}, {"scale", scale}})->log_prob(weights()),
        map_w([&](double w) {
          const double z = (w - mu) / scale;
          return std::lgamma((df + 1) / 2) - std::lgamma(df / 2) -
                 0.5 * std::log(df * std::numbers::pi) - std::log(scale) -
                 (df + 1) / 2 * std::log(1 + z * z / df);
        }),
        1e-13);
  }
}

TEST_CASE("the scale mixture stays finite in the tails, where the naive formula gives -inf") {
  const double w = 1e3;
  const double naive = std::log(0.5 * std::exp(normal_log_pdf(w, 0, 1)) +
                                0.5 * std::exp(normal_log_pdf(w, 0, std::exp(-6.0))));
  CHECK(naive == -std::numeric_limits<double>::infinity());
  // log(pi N1 + (1 - pi) N2) = log(pi) + log N1 + log(1 + ...), the second term negligible here.
  const double expected = std::log(0.5) + normal_log_pdf(w, 0, 1);
  for (const Dtype dtype : {kFloat64, kFloat32}) {
    const Tensor x = tensor({-w, w}, dtype).requires_grad_();
    const Tensor log_p = bayes::make_prior("scale_mixture", x)->log_prob(x);
    test::check_close(log_p, {expected, expected}, dtype == kFloat64 ? 1e-14 : 1e-6);
    // The gradient -w / sigma1^2 is finite too.
    log_p.sum().backward();
    test::check_close(x.grad(), {w, -w}, dtype == kFloat64 ? 1e-12 : 1e-5);
  }
}

TEST_CASE("Gaussian posterior: initialization, draws, log density") {
  manual_seed(1);
  const Tensor original = zeros({100, 100}, kFloat64);
  SUBCASE("defaults: rho = -3, mu ~ N(0, 0.1^2)") {
    auto q =
        std::dynamic_pointer_cast<GaussianPosterior>(bayes::make_posterior("gaussian", original));
    test::check_close(q->rho.flatten().slice(0, 0, 3), {-3, -3, -3}, 0);
    // The sample standard deviation of 10^4 draws: within 5% of 0.1 (its SE is 0.7%).
    CHECK(q->mu.std().item<double>() == doctest::Approx(0.1).epsilon(0.05));
    CHECK(std::abs(q->mu.mean().item<double>()) < 0.005);
    test::check_close(q->sigma().flatten().slice(0, 0, 1), {std::log1p(std::exp(-3.0))}, 1e-14);
    CHECK(q->mu.requires_grad());
    CHECK(q->mu.dtype() == kFloat64);
  }
  SUBCASE("mu_std and rho arguments; pretrained_gaussian starts at the parameter") {
    auto wide = std::dynamic_pointer_cast<GaussianPosterior>(
        bayes::make_posterior("gaussian", original, {{"mu_std", 2.0}, {"rho", 0.5}}));
    CHECK(wide->mu.std().item<double>() == doctest::Approx(2.0).epsilon(0.05));
    CHECK(wide->rho.mean().item<double>() == 0.5);
    const Tensor trained = test::iota({2, 3});
    auto pretrained = std::dynamic_pointer_cast<GaussianPosterior>(
        bayes::make_posterior("Pretrained_Normal", trained, {{"rho", -5.0}}));
    CHECK(equal(pretrained->mu, trained));
    CHECK(pretrained->registry_name() == "pretrained_gaussian");
    CHECK(pretrained->type_name() == "PretrainedGaussianPosterior");
    test::check_error(
        {"pretrained_gaussian posterior", "unknown argument 'mu_std'", "it takes 'rho'"}, [&] {
          bayes::make_posterior("pretrained_gaussian", trained, {{"mu_std", 1.0}});
        });
    test::check_error({"gaussian posterior", "mu_std must be non-negative, got -1"}, [&] {
      bayes::make_posterior("gaussian", trained, {{"mu_std", -1.0}});
    });
    test::check_error({"gaussian posterior", "floating-point", "int64"},
                      [&] { bayes::make_posterior("gaussian", zeros({2}, kInt64)); });
  }
  SUBCASE("sample = mu + softplus(rho) eps; fresh draws have mean mu and std sigma") {
    auto q = std::dynamic_pointer_cast<GaussianPosterior>(
        bayes::make_posterior("gaussian", original, {{"rho", 0.0}}));
    q->sampling_scope()->begin_step();
    test::check_close(q->current_sample(), test::values(q->mu + q->noise() * std::log(2.0)), 1e-12,
                      1e-15);
    CHECK(equal(q->mean(), q->mu));
    const Tensor eps = q->noise().clone();
    const Tensor z = (q->fresh_sample() - q->mu) / std::log(2.0);
    CHECK(equal(q->noise(), eps));
    // 10^4 standard normals: mean within 4 SE (0.04), std within 5%.
    CHECK(std::abs(z.mean().item<double>()) < 0.04);
    CHECK(z.std().item<double>() == doctest::Approx(1.0).epsilon(0.05));
  }
  SUBCASE("log q(w) is the normal log density with sigma = softplus(rho)") {
    const Tensor mu = tensor({{0.1, -0.4, 2.0}, {0.0, 0.3, -1.0}}, kFloat64);
    const Tensor rho = tensor({{-3.0, 0.0, 1.0}, {-1.0, 2.0, -0.5}}, kFloat64);
    auto q = std::dynamic_pointer_cast<GaussianPosterior>(bayes::make_posterior("gaussian", mu));
    {
      NoGradGuard no_grad;
      q->mu.copy_(mu);
      q->rho.copy_(rho);
    }
    std::vector<double> expected;
    const std::vector<double> m = test::values(mu), r = test::values(rho);
    for (size_t i = 0; i < kW.size(); ++i)
      expected.push_back(normal_log_pdf(kW[i], m[i], std::log1p(std::exp(r[i]))));
    test::check_close(q->log_prob(weights()), expected, 1e-13);
  }
}

TEST_CASE("a posterior's value: one draw per step of its scope, the mean, or a frozen draw") {
  auto q = bayes::make_posterior("gaussian", zeros({3}));
  q->set_prior(bayes::make_prior("gaussian", zeros({3})));
  const std::shared_ptr<nn::SamplingScope> scope = q->sampling_scope();
  scope->begin_step();
  const Tensor first = q->compute();
  CHECK(equal(q->compute(), first));  // the same step: the same draw
  scope->begin_step();
  const Tensor second = q->compute();
  CHECK_FALSE(equal(second, first));
  q->set_mode(bayes::SampleMode::Mean);
  CHECK(equal(q->compute(), q->mean()));
  CHECK_FALSE(q->is_stochastic());
  // Frozen: the draw of the current step, kept as long as no step begins (a BNN in Frozen mode
  // begins none at its forward passes; its resample() does).
  q->set_mode(bayes::SampleMode::Frozen);
  CHECK(q->is_stochastic());
  const Tensor frozen = q->compute();
  CHECK(equal(frozen, second));
  CHECK(equal(q->compute(), frozen));
  scope->begin_step();
  CHECK_FALSE(equal(q->compute(), frozen));
  // A posterior given another scope follows that one's steps.
  auto shared = std::make_shared<nn::SamplingScope>();
  q->set_mode(bayes::SampleMode::Sample);
  q->set_sampling_scope(shared);
  const Tensor in_shared = q->compute();
  scope->begin_step();
  CHECK(equal(q->compute(), in_shared));
  shared->begin_step();
  CHECK_FALSE(equal(q->compute(), in_shared));
}

namespace {
// The mistake the base class guards against: a posterior that redraws its noise in place.
class InPlaceNoisePosterior : public bayes::VariationalPosterior {
 public:
  explicit InPlaceNoisePosterior(const Tensor& original)
      : VariationalPosterior("InPlaceNoisePosterior", "test_in_place_noise", {}) {
    mu = register_parameter("mu", zeros_like(original));
  }
  Tensor sample(const Tensor& noise) override {
    // Wrong: autograd may have saved this noise for an earlier draw. (The const reference stops
    // `noise.normal_()`; a copy of the handle is the same tensor.)
    Tensor same = noise;
    same.normal_();
    return mu + same;
  }
  Tensor mean() override { return mu; }
  Tensor log_prob(const Tensor& w) override { return (w - mu).pow(2) * -0.5; }
  Tensor mu;
};
}  // namespace

TEST_CASE("a posterior gets fresh noise each step, safe for multi-sample losses") {
  bayes::test::register_test_types();
  SUBCASE("the documented way: a user posterior over three forward passes and one backward") {
    // For y = x W^T with W_k = mu + 0.5 eps_k and L = sum_k sum(y_k^2): dL/dmu = sum_k 2 y_k^T x.
    manual_seed(21);
    nn::Linear linear(nn::LinearOptions(3, 2).bias(false));
    linear->to(kFloat64);
    bayes::BayesianModule bnn(
        linear, bayes::BayesianOptions().posterior({"fixed_sigma", {{"sigma", 0.5}}}));
    auto& q = dynamic_cast<bayes::test::FixedSigmaPosterior&>(*bnn->posteriors()["weight"]);
    const Tensor x = randn({4, 3}, kFloat64);
    Tensor loss = zeros({}, kFloat64), expected = zeros({2, 3}, kFloat64);
    std::vector<Tensor> noises;
    for (int k = 0; k < 3; ++k) {
      const Tensor y = bnn(x);
      noises.push_back(q.noise());
      loss = loss + (y * y).sum();
      NoGradGuard no_grad;
      expected = expected + (y * 2).t().matmul(x);
    }
    // Each step handed out new noise; the handles of earlier steps keep theirs.
    CHECK(noises[0].data_ptr<double>() != noises[1].data_ptr<double>());
    CHECK_FALSE(equal(noises[0], noises[1]));
    loss.backward();
    test::check_close(q.mu.grad(), test::values(expected), 1e-12, 1e-12);
  }
  SUBCASE("a posterior that modifies its noise in place is stopped at once, by name") {
    auto q = std::make_shared<InPlaceNoisePosterior>(zeros({3}));
    test::check_error(
        {"InPlaceNoisePosterior", "sample() modified its noise in place", "draw_noise()"},
        [&] { q->compute(); });
  }
  SUBCASE("draw_noise and noise_shape: a Gaussian draws standard normals of mu's shape") {
    auto q = bayes::make_posterior("gaussian", zeros({2, 5}, kFloat64));
    CHECK(q->noise_shape() == Shape{2, 5});
    CHECK(q->noise().dtype() == kFloat64);
    CHECK(q->noise().sizes() == Shape{2, 5});
    const Tensor before = q->noise();
    CHECK(q->noise().data_ptr<double>() == before.data_ptr<double>());  // the same step
    q->sampling_scope()->begin_step();
    CHECK_FALSE(equal(q->noise(), before));
  }
}

TEST_CASE("registries: case-insensitive names and aliases") {
  CHECK(bayes::posterior_name("GAUSSIAN") == "gaussian");
  CHECK(bayes::posterior_name("Normal") == "gaussian");
  CHECK(bayes::posterior_name("pretrained_NORMAL") == "pretrained_gaussian");
  CHECK(bayes::prior_name("Scale_Mixture") == "scale_mixture");
  CHECK(bayes::prior_name("nOrMaL") == "gaussian");
  CHECK(bayes::make_prior("LAPLACE", zeros({2}))->registry_name() == "laplace");
  const auto posteriors = bayes::registered_posteriors();
  CHECK(std::count(posteriors.begin(), posteriors.end(), "gaussian") == 1);
  CHECK(std::count(posteriors.begin(), posteriors.end(), "pretrained_gaussian") == 1);
  const auto priors = bayes::registered_priors();
  for (const char* name : {"gaussian", "laplace", "scale_mixture"})
    CHECK(std::count(priors.begin(), priors.end(), name) == 1);
  CHECK(bayes::find_kl("Normal", "LAPLACE") != nullptr);
  CHECK(bayes::find_kl("gaussian", "scale_mixture") == nullptr);
  test::check_error({"prior: unknown name 'cauchy'", "registered: ", "gaussian", "laplace",
                     "normal", "scale_mixture"},
                    [] { bayes::prior_name("cauchy"); });
}

TEST_CASE("users register their own priors and posteriors, once per name") {
  bayes::test::register_test_types();
  CHECK(bayes::prior_name("T") == "student_t");
  CHECK(bayes::posterior_name("Fixed_Sigma") == "fixed_sigma");
  // Used through the conversion options like the built-in ones, with a Monte Carlo KL.
  manual_seed(2);
  nn::Linear linear(3, 2);
  BayesianModule bnn(
      linear, BayesianOptions()
                  .prior({"student_t", {{"df", 4.0}}})
                  .rule("bias", bayes::Rule().posterior({"fixed_sigma", {{"sigma", 0.05}}})));
  CHECK(bnn->posteriors()["weight"]->prior()->type_name() == "StudentTPrior");
  CHECK(bnn->posteriors()["bias"]->type_name() == "FixedSigmaPosterior");
  CHECK(bnn->named_parameters().keys() ==
        std::vector<std::string>{"module.parametrizations.weight.mu",
                                 "module.parametrizations.weight.rho",
                                 "module.parametrizations.bias.mu"});
  bnn(randn({2, 3}));
  double expected = 0;
  for (const auto& item : bnn->posteriors()) {
    const Tensor value = item.key() == "weight" ? linear->weight : linear->bias;
    expected += (item.value()->log_prob(value) - item.value()->prior()->log_prob(value))
                    .sum()
                    .item<double>();
  }
  CHECK(bnn->kl_divergence().item<double>() == doctest::Approx(expected).epsilon(1e-6));
  test::check_error({"student_t prior", "unknown argument 'nu'", "it takes 'df', 'mu', 'scale'"},
                    [&] {
                      bayes::make_prior("student_t", zeros({2}), {{"nu", 3.0}});
                    });

  auto factory = [](const Tensor& like, const Args& args) {
    return std::make_shared<bayes::test::StudentTPrior>(like, args);
  };
  test::check_error({"register_prior", "the name 'STUDENT_T' is already registered"},
                    [&] { bayes::register_prior("STUDENT_T", factory); });
  test::check_error({"register_prior", "the name 'normal' is already registered"},
                    [&] { bayes::register_prior("half_normal", factory, {"normal"}); });
  test::check_error({"register_prior", "the name 'HT' is already registered"}, [&] {
    bayes::register_prior("half_t", factory, {"ht", "HT"});
  });
  // A failed registration registers nothing, not even the names before the clash.
  test::check_error({"prior: unknown name 'half_normal'"},
                    [] { bayes::prior_name("half_normal"); });
  test::check_error({"prior: unknown name 'half_t'"}, [] { bayes::prior_name("half_t"); });
  test::check_error({"register_posterior", "the name 'Gaussian' is already registered"}, [] {
    bayes::register_posterior("Gaussian", [](const Tensor& t, const Args& a) {
      return bayes::make_posterior("gaussian", t, a);
    });
  });
}

TEST_CASE("a factory returning null is an error, not a crash") {
  static const bool registered = [] {
    bayes::register_prior("test_null_prior", [](const Tensor&, const Args&) {
      return std::shared_ptr<bayes::Prior>();
    });
    return true;
  }();
  (void)registered;
  nn::Linear linear(2, 2);
  test::check_error({"make_prior", "'test_null_prior'", "returned null"},
                    [&] { BayesianModule(linear, BayesianOptions().prior("test_null_prior")); });
}

TEST_CASE("Args: kinds, conversions and errors naming the owner") {
  Args args{{"x", 0.5}, {"n", 3}, {"on", true}, {"name", "wide"}, {"t", ones({2, 1})}};
  CHECK(args.str() == "n=3, name=wide, on=true, t=tensor[2, 1], x=0.5");
  CHECK(args.number("o", "n", 0) == 3.0);
  CHECK(args.number("o", "missing", 7.5) == 7.5);
  CHECK(args.flag("o", "on", false));
  const Tensor like = zeros({2, 3}, kFloat64);
  CHECK(args.tensor("o", "t", 0, like).dtype() == kFloat64);
  CHECK(args.tensor("o", "x", 0, like).dim() == 0);
  CHECK(args.tensor("o", "missing", 2.0, like).item<double>() == 2.0);
  test::check_error({"owner", "'name' must be a number, got a string"},
                    [&] { args.number("owner", "name", 0); });
  test::check_error({"owner", "'x' must be true or false, got a number"},
                    [&] { args.flag("owner", "x", false); });
  test::check_error({"owner", "'on' must be a number or a tensor, got a flag"},
                    [&] { args.tensor("owner", "on", 0, like); });
  test::check_error({"owner", "'t' of shape [2, 1]", "parameter's shape [3]"},
                    [&] { args.tensor("owner", "t", 0, zeros({3})); });
  test::check_error({"owner", "unknown arguments 'n', 'name'", "it takes 'on', 't', 'x'"}, [&] {
    args.allow_only("owner", {"on", "t", "x"});
  });
  args.set("x", 1.5);
  CHECK(args.number("o", "x", 0) == 1.5);
}
