// BayesianModule: converting modules, rules, sample modes, gradients through several samples,
// dtype moves and to_deterministic.

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
using bayes::SampleMode;
using bayes::test::draw_of;
using bayes::test::gaussian_of;

namespace {

nn::Sequential mlp() { return nn::Sequential(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2)); }

std::vector<std::string> keys_of(const nn::OrderedDict<Tensor>& dict) { return dict.keys(); }

// A module with a norm layer among its children, for rules on names.
struct NormedImpl : nn::Module {
  NormedImpl() : Module("Normed") {
    fc = register_module("fc", nn::Linear(3, 3));
    norm = register_module("norm", nn::LayerNorm(Shape{3}));
    head = register_module("head", nn::Linear(3, 1));
  }
  Tensor forward(const Tensor& x) { return head(norm(fc(x))); }
  nn::Linear fc = nullptr;
  nn::LayerNorm norm = nullptr;
  nn::Linear head = nullptr;
};
BG_MODULE(Normed);

// A module with an integer parameter (a lookup table that is not trained).
struct CountedImpl : nn::Module {
  CountedImpl() : Module("Counted") {
    fc = register_module("fc", nn::Linear(2, 2));
    counts = register_parameter("counts", zeros({2}, kInt64));
  }
  Tensor forward(const Tensor& x) { return fc(x); }
  nn::Linear fc = nullptr;
  Tensor counts;
};
BG_MODULE(Counted);

}  // namespace

TEST_CASE("a Sequential of Linear and ReLU: every parameter becomes a Gaussian posterior") {
  manual_seed(1);
  nn::Sequential net = mlp();
  const nn::OrderedDict<Tensor> original = net->named_parameters();
  BayesianModule bnn(net);
  CHECK(bnn->module().get() == net.ptr().get());
  CHECK(bnn->posteriors().keys() ==
        std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(bnn->deterministic_parameters().empty());
  // parameters() are exactly the variational parameters, mu and rho of each posterior.
  CHECK(keys_of(bnn->named_parameters()) ==
        std::vector<std::string>{
            "module.0.parametrizations.weight.mu", "module.0.parametrizations.weight.rho",
            "module.0.parametrizations.bias.mu", "module.0.parametrizations.bias.rho",
            "module.2.parametrizations.weight.mu", "module.2.parametrizations.weight.rho",
            "module.2.parametrizations.bias.mu", "module.2.parametrizations.bias.rho"});
  CHECK(bnn->parameters().size() == 8);
  for (const auto& item : original) {
    const auto& q = gaussian_of(*bnn, item.key());
    CHECK(q.mu.sizes() == item.value().sizes());
    CHECK(q.rho.sizes() == item.value().sizes());
    // Defaults: rho = -3, mu ~ N(0, 0.1^2) (not the layer's own initialization).
    test::check_close(q.rho, std::vector<double>(item.value().numel(), -3.0), 0);
    CHECK(q.prior()->registry_name() == "gaussian");
    CHECK(q.prior()->args().str() == "mu=0, sigma=1");
  }
  // The wrapped module's weight handles now hold draws: mu + softplus(rho) eps.
  const Tensor out = bnn(randn({5, 3}));
  CHECK(out.sizes() == Shape{5, 2});
  CHECK(allclose(net->ptr<nn::LinearImpl>(0)->weight, draw_of(gaussian_of(*bnn, "0.weight")), 1e-6,
                 1e-7));
}

TEST_CASE("a user-defined module reading its weight three times sees one draw per forward pass") {
  manual_seed(2);
  bayes::test::Twice net(3, 3);
  BayesianModule bnn(net);
  const Tensor x = randn({4, 3});
  for (int pass = 0; pass < 2; ++pass) {
    const Tensor out = bnn(x);
    // The forward pass read weight three times; recomputing it with the one draw matches.
    const Tensor w = draw_of(gaussian_of(*bnn, "weight"));
    const Tensor first = x.matmul(w.t());
    test::check_close(out, test::values(first + first.matmul(w).matmul(w.t()) + net->bias), 1e-6,
                      1e-6);
  }
}

TEST_CASE("conv + batch norm: norm weights become posteriors, running statistics stay buffers") {
  manual_seed(3);
  nn::Sequential net(nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2), nn::ReLU(), nn::MaxPool2d(2),
                     nn::Flatten(), nn::Linear(2 * 3 * 3, 3));
  BayesianModule bnn(net);
  CHECK(bnn->posteriors().keys() ==
        std::vector<std::string>{"0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias"});
  CHECK(keys_of(bnn->named_buffers()) ==
        std::vector<std::string>{
            "module.0.parametrizations.weight.eps", "module.0.parametrizations.bias.eps",
            "module.1.running_mean", "module.1.running_var", "module.1.num_batches_tracked",
            "module.1.parametrizations.weight.eps", "module.1.parametrizations.bias.eps",
            "module.5.parametrizations.weight.eps", "module.5.parametrizations.bias.eps"});
  auto norm = net->ptr<nn::BatchNorm2dImpl>(1);
  CHECK(equal(norm->running_mean, zeros({2})));
  const Tensor x = randn({4, 1, 8, 8});
  const Tensor out = bnn(x);
  CHECK(out.sizes() == Shape{4, 3});
  // Training mode updated the running statistics, still plain buffers: momentum 0.1 times the
  // batch mean of the convolution's output, computed with the same draws.
  const Tensor conv =
      conv2d(x, net->ptr<nn::Conv2dImpl>(0)->weight, net->ptr<nn::Conv2dImpl>(0)->bias);
  test::check_close(norm->running_mean, test::values(conv.mean({0, 2, 3}) * 0.1), 1e-5, 1e-6);
  CHECK(norm->num_batches_tracked.item<int64_t>() == 1);
  bnn->eval();
  bnn(x);
  CHECK(norm->num_batches_tracked.item<int64_t>() == 1);
}

TEST_CASE("an Embedding's table becomes a posterior: lookups return rows of the draw") {
  manual_seed(4);
  nn::Embedding embedding(5, 3);
  BayesianModule bnn(embedding);
  const Tensor rows = bnn(tensor<int64_t>({4, 0, 4}));
  const Tensor table = draw_of(gaussian_of(*bnn, "weight"));
  CHECK(allclose(rows, table.index_select(0, tensor<int64_t>({4, 0, 4})), 1e-6, 1e-7));
}

TEST_CASE("rules by glob: priors per pattern, deterministic patterns, all but the last layer") {
  bayes::test::register_test_types();
  SUBCASE("a different prior for the biases") {
    nn::Sequential net = mlp();
    BayesianModule bnn(net,
                       BayesianOptions().rule("*.bias", Rule().prior({"laplace", {{"b", 0.5}}})));
    for (const auto& item : bnn->posteriors()) {
      const bool bias = item.key().ends_with("bias");
      CHECK(item.value()->prior()->registry_name() == (bias ? "laplace" : "gaussian"));
    }
    CHECK(bnn->posteriors()["2.bias"]->prior()->args().str() == "b=0.5");
  }
  SUBCASE("norm layers left deterministic, and trained as usual") {
    Normed net;
    BayesianModule bnn(net, BayesianOptions().deterministic("norm*"));
    CHECK(bnn->deterministic_parameters() == std::vector<std::string>{"norm.weight", "norm.bias"});
    CHECK(bnn->posteriors().keys() ==
          std::vector<std::string>{"fc.weight", "fc.bias", "head.weight", "head.bias"});
    CHECK_FALSE(nn::utils::is_parametrized(*net->norm));
    // parameters(): the variational ones plus the deterministic ones, which keep training.
    const auto names = keys_of(bnn->named_parameters());
    CHECK(names.size() == 10);
    CHECK(std::count(names.begin(), names.end(), "module.norm.weight") == 1);
  }
  SUBCASE("everything but the last layer deterministic: an ordered pair of rules") {
    nn::Sequential net = mlp();
    BayesianModule bnn(
        net, BayesianOptions().deterministic("*").rule("2.*", Rule().deterministic(false)));
    CHECK(bnn->posteriors().keys() == std::vector<std::string>{"2.weight", "2.bias"});
    CHECK(bnn->deterministic_parameters() == std::vector<std::string>{"0.weight", "0.bias"});
  }
  SUBCASE("later rules override earlier ones field by field; '?' matches one character") {
    nn::Sequential net = mlp();
    BayesianModule bnn(
        net,
        BayesianOptions()
            .rule("*",
                  Rule().posterior("pretrained_gaussian").prior({"gaussian", {{"sigma", 2.0}}}))
            .rule("?.bias", Rule().posterior({"fixed_sigma", {{"sigma", 0.3}}})));
    CHECK(bnn->posteriors()["0.weight"]->registry_name() == "pretrained_gaussian");
    CHECK(bnn->posteriors()["0.bias"]->registry_name() == "fixed_sigma");
    CHECK(bnn->posteriors()["0.bias"]->prior()->args().str() == "sigma=2");
  }
  SUBCASE("glob_match") {
    CHECK(bayes::glob_match("*", ""));
    CHECK(bayes::glob_match("0.*", "0.weight"));
    CHECK(bayes::glob_match("*.weight", "encoder.0.weight"));
    CHECK_FALSE(bayes::glob_match("*.weight", "0.weights"));
    CHECK(bayes::glob_match("n?rm*", "norm.bias"));
    CHECK_FALSE(bayes::glob_match("?", ""));
    CHECK(bayes::glob_match("a*b*c", "aXbYbZc"));
    CHECK_FALSE(bayes::glob_match("a*b*c", "aXbYcZ"));
  }
}

TEST_CASE("mistakes in the options throw, list what exists, and leave the module unconverted") {
  nn::Sequential net = mlp();
  auto check_unconverted = [&] {
    CHECK_FALSE(nn::utils::is_parametrized(*net[0]));
    CHECK_FALSE(nn::utils::is_parametrized(*net[2]));
  };
  test::check_error(
      {"BayesianModule", "the rule '3.*' matches no parameter",
       "the parameters are: 0.weight, 0.bias, 2.weight, 2.bias"},
      [&] { BayesianModule(net, BayesianOptions().rule("3.*", Rule().prior("laplace"))); });
  test::check_error({"BayesianModule", "'0.weight'", "posterior: unknown name 'gausian'",
                     "registered: ", "gaussian", "normal", "pretrained_gaussian"},
                    [&] { BayesianModule(net, BayesianOptions().posterior("gausian")); });
  test::check_error({"prior: unknown name 'cauchy'", "laplace", "scale_mixture"},
                    [&] { BayesianModule(net, BayesianOptions().prior("cauchy")); });
  test::check_error(
      {"'0.weight'", "gaussian prior", "unknown argument 'sd'", "it takes 'mu', 'sigma'"}, [&] {
        BayesianModule(net, BayesianOptions().prior({"gaussian", {{"sd", 1.0}}}));
      });
  test::check_error({"gaussian prior", "'sigma' must be a number or a tensor, got a string"}, [&] {
    BayesianModule(net, BayesianOptions().prior({"gaussian", {{"sigma", "wide"}}}));
  });
  test::check_error({"gaussian prior", "'sigma' must be positive"}, [&] {
    BayesianModule(net, BayesianOptions().prior({"gaussian", {{"sigma", -1.0}}}));
  });
  test::check_error({"gaussian prior", "'sigma' of shape [5]", "parameter's shape [4, 3]"}, [&] {
    BayesianModule(net, BayesianOptions().prior({"gaussian", {{"sigma", ones({5})}}}));
  });
  test::check_error({"gaussian posterior", "'rho' must be a number or a tensor, got a flag"}, [&] {
    BayesianModule(net, BayesianOptions().posterior({"gaussian", {{"rho", true}}}));
  });
  test::check_error({"scale_mixture prior", "pi must lie in (0, 1), got 1.5"}, [&] {
    BayesianModule(net, BayesianOptions().prior({"scale_mixture", {{"pi", 1.5}}}));
  });
  check_unconverted();

  Counted counted;
  test::check_error({"BayesianModule", "'counts'", "only floating-point parameters can be Bayesian",
                     "int64", "leave it deterministic with a rule"},
                    [&] { BayesianModule{counted}; });
  CHECK_FALSE(nn::utils::is_parametrized(*counted->fc));
  BayesianModule bnn(counted, BayesianOptions().deterministic("counts"));
  CHECK(bnn->posteriors().keys() == std::vector<std::string>{"fc.weight", "fc.bias"});
}

TEST_CASE("converting what is Bayesian (or parametrized) already is an error naming it") {
  manual_seed(9);
  nn::Sequential net = mlp();
  BayesianModule bnn(net);
  SUBCASE("a BayesianModule itself") {
    test::check_error({"BayesianModule", "is a BayesianModule already",
                       "posteriors of 0.weight, 0.bias, 2.weight, 2.bias", "second posterior"},
                      [&] { std::make_shared<bayes::BayesianModuleImpl>(bnn.ptr()); });
    // With its type known, `BayesianModule(bnn, options)` is a compile error
    // (tests/bayes/compile_errors/convert_twice.cpp); `BayesianModule(bnn)` a second handle.
    BayesianModule handle(bnn);
    CHECK(handle.get() == bnn.get());
  }
  SUBCASE("a model holding a BNN: its posteriors' parameters are named") {
    nn::Sequential outer(bnn, nn::Linear(2, 1));
    test::check_error(
        {"BayesianModule", "the Sequential holds parametrizations already",
         "0.module.0.weight (GaussianPosterior)", "0.module.2.bias (GaussianPosterior)",
         "0.module.0.parametrizations.weight.mu", "second layer of posteriors",
         ".deterministic(\"0.module.0.parametrizations.*\")"},
        [&] { BayesianModule{outer}; });
    CHECK_FALSE(nn::utils::is_parametrized(*outer[1]));
    // Left deterministic, the inner BNN keeps its posteriors and the rest is converted.
    BayesianModule both(outer, BayesianOptions().deterministic("0.*"));
    CHECK(both->posteriors().keys() == std::vector<std::string>{"1.weight", "1.bias"});
    CHECK(both(randn({2, 3})).sizes() == Shape{2, 1});
  }
  SUBCASE("a weight-normalized layer") {
    nn::Linear linear(3, 2);
    nn::utils::weight_norm(*linear);
    test::check_error({"the Linear holds parametrizations already", "weight (WeightNorm)",
                       "parametrizations.weight.g, parametrizations.weight.v"},
                      [&] { BayesianModule{linear}; });
    BayesianModule only_bias(linear, BayesianOptions().deterministic("parametrizations.*"));
    CHECK(only_bias->posteriors().keys() == std::vector<std::string>{"bias"});
  }
}

TEST_CASE("a posterior whose sigma is NaN or not positive is an error naming the parameter") {
  nn::Sequential net = mlp();
  test::check_error(
      {"BayesianModule (parameter '0.weight')", "gaussian posterior",
       "sigma = softplus(rho) must be positive", "NaN or not positive at 12 of 12", "rho = nan"},
      [&] {
        BayesianModule(net, BayesianOptions().posterior({"gaussian", {{"rho", std::nan("")}}}));
      });
  // softplus(-200) underflows to 0 in float32 (a vectorised exp may stop at its smallest normal
  // number instead, so which parameter fails first depends on the kernel).
  test::check_error({"BayesianModule (parameter '", "NaN or not positive", "rho = -200"}, [&] {
    BayesianModule(net, BayesianOptions().posterior({"gaussian", {{"rho", -200.0}}}));
  });
  CHECK_FALSE(nn::utils::is_parametrized(*net[0]));
}

TEST_CASE("sample modes: a draw per forward, the mean, or a frozen draw until resample()") {
  manual_seed(5);
  nn::Linear linear(3, 2);
  BayesianModule bnn(linear);
  const Tensor x = randn({4, 3});
  auto& w = gaussian_of(*bnn, "weight");
  auto& b = gaussian_of(*bnn, "bias");

  // Sample: a new draw at each forward pass, used throughout it.
  const Tensor first = bnn(x);
  test::check_close(first, test::values(F::linear(x, draw_of(w), draw_of(b))), 1e-6, 1e-6);
  CHECK_FALSE(equal(bnn(x), first));

  // Mean: the wrapped module with mu as its weights, every time.
  bnn->set_mode(SampleMode::Mean);
  CHECK(bnn->mode() == SampleMode::Mean);
  const Tensor mean = bnn(x);
  CHECK(equal(mean, F::linear(x, w.mu, b.mu)));
  CHECK(equal(bnn(x), mean));
  CHECK(equal(linear->weight, w.mu));

  // Frozen: one draw kept across forward passes until resample().
  bnn->set_mode(SampleMode::Frozen);
  const Tensor frozen = bnn(x);
  CHECK(equal(bnn(x), frozen));
  CHECK_FALSE(equal(frozen, mean));
  test::check_close(frozen, test::values(F::linear(x, draw_of(w), draw_of(b))), 1e-6, 1e-6);
  bnn->resample();
  const Tensor resampled = bnn(x);
  CHECK_FALSE(equal(resampled, frozen));
  CHECK(equal(bnn(x), resampled));

  // Built in a mode.
  nn::Linear other(3, 2);
  BayesianModule in_mean(other, BayesianOptions().mode(SampleMode::Mean));
  CHECK(equal(in_mean(x),
              F::linear(x, gaussian_of(*in_mean, "weight").mu, gaussian_of(*in_mean, "bias").mu)));
}

TEST_CASE(
    "the losses of several forward passes summed before one backward differentiate every draw") {
  // For y = x W^T + b and L = sum_k sum(y_k^2), with W_k = mu + s eps_k: dL/dmu = sum_k 2 y_k^T x
  // and dL/drho = sum_k 2 y_k^T x * eps_k * sigmoid(rho) (s = softplus(rho), s' = sigmoid).
  manual_seed(6);
  nn::Linear linear(3, 2);
  linear->to(kFloat64);
  BayesianModule bnn(linear);
  Generator generator(1);  // the input does not consume the default generator's draws
  const Tensor x = randn({5, 3}, kFloat64, &generator);
  auto& w = gaussian_of(*bnn, "weight");
  Tensor loss, expected_mu = zeros({2, 3}, kFloat64), expected_rho = zeros({2, 3}, kFloat64);
  for (int k = 0; k < 3; ++k) {
    const Tensor y = bnn(x);
    loss = k == 0 ? (y * y).sum() : loss + (y * y).sum();
    NoGradGuard no_grad;
    const Tensor dw = (y * 2).t().matmul(x);
    expected_mu = expected_mu + dw;
    expected_rho = expected_rho + dw * w.noise() * sigmoid(w.rho);
  }
  loss.backward();
  test::check_close(w.mu.grad(), test::values(expected_mu), 1e-12, 1e-12);
  test::check_close(w.rho.grad(), test::values(expected_rho), 1e-12, 1e-12);
  // The same for the sum of three separate backward passes with the same draws, replayed.
  const Tensor summed_mu = w.mu.grad().clone();
  bnn->zero_grad();
  manual_seed(6);
  nn::Linear replay(3, 2);
  replay->to(kFloat64);
  BayesianModule twin(replay);
  for (int k = 0; k < 3; ++k) {
    const Tensor y = twin(x);
    (y * y).sum().backward();
  }
  CHECK(allclose(gaussian_of(*twin, "weight").mu.grad(), summed_mu, 1e-12, 1e-12));
}

TEST_CASE("bnn->to(kFloat64) moves posteriors, priors, noise and the KL") {
  manual_seed(7);
  nn::Sequential net = mlp();
  BayesianModule bnn(net, BayesianOptions().rule(
                              "2.bias", Rule().prior({"gaussian", {{"sigma", rand({2}) + 1}}})));
  bnn->to(kFloat64);
  for (const Tensor& t : bnn->parameters()) CHECK(t.dtype() == kFloat64);
  for (const Tensor& t : bnn->buffers()) CHECK(t.dtype() == kFloat64);
  const Tensor x = randn({2, 3}, kFloat64);
  CHECK(bnn(x).dtype() == kFloat64);
  CHECK(net->ptr<nn::LinearImpl>(0)->weight.dtype() == kFloat64);
  const Tensor kl = bnn->kl_divergence();
  CHECK(kl.dtype() == kFloat64);
  // The KL in float64 equals the closed form evaluated in float64.
  double expected = 0;
  for (const auto& item : bnn->posteriors()) {
    const auto& q = dynamic_cast<const bayes::GaussianPosterior&>(*item.value());
    const auto& p = dynamic_cast<const bayes::GaussianPrior&>(*q.prior());
    const Tensor s = softplus(q.rho);
    const Tensor p_mu = p.mu.like(q.mu), p_sigma = p.sigma.like(q.mu);
    expected +=
        ((p_sigma / s).log() + (s * s + (q.mu - p_mu).pow(2)) / (p_sigma * p_sigma * 2) - 0.5)
            .sum()
            .item<double>();
  }
  CHECK(kl.item<double>() == doctest::Approx(expected).epsilon(1e-13));
}

TEST_CASE("bnn->to(kFloat64) keeps the priors' number arguments exact") {
  nn::Sequential net = mlp();
  BayesianModule bnn(
      net, BayesianOptions()
               .prior({"scale_mixture", {{"pi", 0.25}, {"sigma1", 0.1}, {"sigma2", 0.0025}}})
               .rule("*.bias", Rule().prior({"gaussian", {{"mu", 0.3}, {"sigma", 0.7}}}))
               .rule("2.weight", Rule().prior({"laplace", {{"mu", -0.1}, {"b", 0.0025}}})));
  bnn->to(kFloat64);
  const Tensor like = zeros({}, kFloat64);
  const auto& mixture =
      dynamic_cast<const bayes::ScaleMixturePrior&>(*bnn->posteriors()["0.weight"]->prior());
  CHECK(mixture.sigma2.like(like).item<double>() == 0.0025);  // not 0.0024999999441206455
  CHECK(mixture.sigma1.like(like).item<double>() == 0.1);
  const auto& gaussian =
      dynamic_cast<const bayes::GaussianPrior&>(*bnn->posteriors()["0.bias"]->prior());
  CHECK(gaussian.mu.like(like).item<double>() == 0.3);
  CHECK(gaussian.sigma.like(like).item<double>() == 0.7);
  const auto& laplace =
      dynamic_cast<const bayes::LaplacePrior&>(*bnn->posteriors()["2.weight"]->prior());
  CHECK(laplace.b.like(like).item<double>() == 0.0025);
  CHECK(laplace.mu.like(like).dtype() == kFloat64);
  // In float32 the same argument is float32's nearest value.
  CHECK(laplace.b.like(zeros({})).item<float>() == 0.0025f);
  // The log densities use the exact arguments: log N(w; 0.3, 0.7^2) at w = 0.3 is
  // -log(0.7 sqrt(2 pi)).
  CHECK(gaussian.log_prob(full({1}, 0.3, kFloat64)).item<double>() ==
        doctest::Approx(-std::log(0.7) - 0.5 * std::log(2 * M_PI)).epsilon(1e-15));
}

TEST_CASE("a model moved to float64 before conversion gets float64 posteriors") {
  nn::Sequential net = mlp();
  net->to(kFloat64);
  BayesianModule bnn(net, BayesianOptions().prior("scale_mixture"));
  for (const Tensor& t : bnn->parameters()) CHECK(t.dtype() == kFloat64);
  for (const Tensor& t : bnn->buffers()) CHECK(t.dtype() == kFloat64);
  const Tensor out = bnn(randn({2, 3}, kFloat64));
  CHECK(out.dtype() == kFloat64);
  CHECK(bnn->kl_divergence().dtype() == kFloat64);
}

TEST_CASE("to_deterministic: the plain module with the posterior means") {
  manual_seed(8);
  nn::Sequential net = mlp();
  BayesianModule bnn(net, BayesianOptions().deterministic("0.bias"));
  const Tensor x = randn({3, 3});
  bnn->set_mode(SampleMode::Mean);
  const Tensor mean = bnn(x);
  const Tensor mu = gaussian_of(*bnn, "2.weight").mu.detach().clone();
  bnn->set_mode(SampleMode::Sample);
  std::shared_ptr<nn::Module> plain = bnn->to_deterministic();
  CHECK(plain.get() == net.ptr().get());
  CHECK_FALSE(nn::utils::is_parametrized(*net[0]));
  CHECK_FALSE(nn::utils::is_parametrized(*net[2]));
  CHECK(equal(net->ptr<nn::LinearImpl>(2)->weight, mu));
  CHECK(net->ptr<nn::LinearImpl>(2)->weight.requires_grad());
  CHECK(equal(net(x), mean));
  CHECK(net->parameters().size() == 4);
  test::check_error({"BayesianModule", "to_deterministic"}, [&] { bnn(x); });
  test::check_error({"BayesianModule", "to_deterministic"}, [&] { bnn->kl_divergence(); });
}
