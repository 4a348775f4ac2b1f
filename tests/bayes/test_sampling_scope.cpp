// Sampling belongs to a model: each BayesianModule's posteriors follow the steps of its own
// sampling scope, so one model's forward pass never redraws another model's weights.

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
namespace F = bg::nn::functional;
using namespace bg;
using bayes::BayesianModule;
using bayes::BayesianOptions;
using bayes::test::draw_of;
using bayes::test::gaussian_of;

namespace {

nn::Sequential mlp() { return nn::Sequential(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2)); }

// A module with a Bayesian weight of its own that reads it before and after calling a child BNN:
// y = inner(x W^T) + x W^T.
struct AroundImpl : nn::Module {
  AroundImpl() : Module("Around") {
    weight = register_parameter("weight", randn({3, 3}) * 0.5);
    inner = register_module("inner", BayesianModule(nn::Linear(3, 3)));
  }
  Tensor forward(const Tensor& x) {
    const Tensor before = x.matmul(weight.t());
    const Tensor through = inner(before);
    return through + x.matmul(weight.t());
  }
  Tensor weight;
  BayesianModule<> inner = nullptr;
};
BG_MODULE(Around);

}  // namespace

TEST_CASE("two BNNs: the forward pass of one leaves the other's weights and MC KL alone") {
  manual_seed(11);
  // A scale-mixture prior has no closed-form KL: the KL is log q - log p at the last draw.
  const BayesianOptions options = BayesianOptions().prior("scale_mixture");
  nn::Sequential net_a = mlp(), net_b = mlp();
  BayesianModule a(net_a, options), b(net_b, options);
  const Tensor x = randn({5, 3});
  const Tensor out_a = a(x);
  const Tensor weight_a = net_a->ptr<nn::LinearImpl>(0)->weight.detach().clone();
  const double kl_a = a->kl_divergence().item<double>();
  b(x);
  b(x);
  CHECK(equal(net_a->ptr<nn::LinearImpl>(0)->weight, weight_a));
  CHECK(a->kl_divergence().item<double>() == kl_a);
  // The weights are the draw the forward pass used.
  test::check_close(out_a,
                    test::values(F::linear(
                        F::linear(x, weight_a, draw_of(gaussian_of(*a, "0.bias"))).relu(),
                        draw_of(gaussian_of(*a, "2.weight")), draw_of(gaussian_of(*a, "2.bias")))),
                    1e-6, 1e-6);
  // Each BNN has its own scope; a resample() of one begins a step of that scope only.
  CHECK(a->sampling_scope() != b->sampling_scope());
  for (const auto& item : a->posteriors()) {
    CHECK(item.value()->sampling_scope() == a->sampling_scope());
  }
  b->resample();
  CHECK(equal(net_a->ptr<nn::LinearImpl>(0)->weight, weight_a));
  a->resample();
  CHECK_FALSE(equal(net_a->ptr<nn::LinearImpl>(0)->weight, weight_a));
}

TEST_CASE("a module reading its Bayesian weight around a call to a child BNN sees one draw") {
  manual_seed(12);
  Around around;
  // The child's own variational parameters stay as they are: the outer BNN trains them as plain
  // parameters, and the child keeps drawing its weights in its own scope.
  BayesianModule outer(around, BayesianOptions().deterministic("inner.*"));
  CHECK(outer->posteriors().keys() == std::vector<std::string>{"weight"});
  const Tensor x = randn({4, 3});
  for (int pass = 0; pass < 2; ++pass) {
    const Tensor out = outer(x);
    const Tensor w = draw_of(gaussian_of(*outer, "weight"));
    auto& inner = *around->inner;
    const Tensor h = x.matmul(w.t());
    const Tensor expected =
        F::linear(h, draw_of(gaussian_of(inner, "weight")), draw_of(gaussian_of(inner, "bias"))) +
        h;
    test::check_close(out, test::values(expected), 1e-6, 1e-6);
  }
}

TEST_CASE("nested BNNs: each call of the inner BNN draws anew, the outer once per pass") {
  manual_seed(13);
  // An outer module calling the same inner BNN twice: two inner draws in one outer pass.
  struct TwiceInnerImpl : nn::Module {
    TwiceInnerImpl() : Module("TwiceInner") {
      scale = register_parameter("scale", ones({2}));
      inner = register_module("inner", BayesianModule(nn::Linear(2, 2)));
    }
    Tensor forward(const Tensor& x) {
      first = inner(x * scale);
      second = inner(x * scale);
      return first + second;
    }
    Tensor scale, first, second;
    BayesianModule<> inner = nullptr;
  };
  auto module = std::make_shared<TwiceInnerImpl>();
  BayesianModule outer(module, BayesianOptions().deterministic("inner.*"));
  const Tensor x = randn({3, 2});
  const Tensor out = outer(x);
  CHECK_FALSE(equal(module->first, module->second));  // the inner BNN drew twice
  const Tensor scale = draw_of(gaussian_of(*outer, "scale"));
  // The outer weight is one draw: the second inner call saw the same x * scale as the first.
  auto& inner = *module->inner;
  test::check_close(module->second,
                    test::values(F::linear(x * scale, draw_of(gaussian_of(inner, "weight")),
                                           draw_of(gaussian_of(inner, "bias")))),
                    1e-6, 1e-6);
  test::check_close(out, test::values(module->first + module->second), 0, 0);
}

TEST_CASE("two BNNs used alternately in one loss (an ensemble): each gradient is its own") {
  // For y = x W^T + b and L = sum_k sum(y_k^2) over the passes k of one BNN: dL/dmu = sum_k
  // 2 y_k^T x and dL/drho = sum_k 2 y_k^T x * eps_k * sigmoid(rho). The other BNN's passes,
  // interleaved, change neither; each Monte Carlo KL (scale-mixture prior) is taken at its own
  // BNN's last draw even after the other BNN ran.
  manual_seed(14);
  nn::Linear net_a(3, 2), net_b(3, 2);
  net_a->to(kFloat64);
  net_b->to(kFloat64);
  const BayesianOptions options = BayesianOptions().prior("scale_mixture");
  BayesianModule a(net_a, options), b(net_b, options);
  Generator generator(3);
  const Tensor x = randn({5, 3}, kFloat64, &generator);
  struct Expected {
    Tensor mu = zeros({2, 3}, kFloat64), rho = zeros({2, 3}, kFloat64);
  } expected_a, expected_b;
  auto accumulate = [&](Expected& expected, BayesianModule<>& bnn, const Tensor& y) {
    NoGradGuard no_grad;
    auto& w = gaussian_of(*bnn, "weight");
    const Tensor dw = (y * 2).t().matmul(x);
    expected.mu = expected.mu + dw;
    expected.rho = expected.rho + dw * w.noise() * sigmoid(w.rho);
  };
  // log q(w) - log p(w) summed over a BNN's posteriors, at the draw its weights hold.
  auto log_ratio = [](BayesianModule<>& bnn) {
    NoGradGuard no_grad;
    double total = 0;
    for (const auto& item : bnn->posteriors()) {
      const Tensor value = draw_of(dynamic_cast<bayes::GaussianPosterior&>(*item.value()));
      total += (item.value()->log_prob(value) - item.value()->prior()->log_prob(value))
                   .sum()
                   .item<double>();
    }
    return total;
  };
  Tensor loss = zeros({}, kFloat64);
  for (int k = 0; k < 3; ++k) {
    const Tensor y_a = a(x);
    const double ratio_a = log_ratio(a);
    accumulate(expected_a, a, y_a);
    const Tensor y_b = b(x);
    accumulate(expected_b, b, y_b);
    CHECK(a->kl_divergence().item<double>() == doctest::Approx(ratio_a).epsilon(1e-12));
    CHECK(b->kl_divergence().item<double>() == doctest::Approx(log_ratio(b)).epsilon(1e-12));
    loss = loss + (y_a * y_a).sum() + (y_b * y_b).sum();
  }
  loss.backward();
  for (auto [bnn, expected] : {std::pair{&a, &expected_a}, std::pair{&b, &expected_b}}) {
    const auto& w = gaussian_of(**bnn, "weight");
    test::check_close(w.mu.grad(), test::values(expected->mu), 1e-12, 1e-12);
    test::check_close(w.rho.grad(), test::values(expected->rho), 1e-12, 1e-12);
  }
}
