// Parametrizations (nn/parametrize.h): a parameter computed from others, with the layer's code
// unchanged. The proofs the design promises: one value per sampling step however often forward
// reads it; gradients through several forward passes summed before one backward (checked by
// finite differences with the random draws held fixed); weight normalization recomputed after
// in-place updates; names, state dicts, dtype conversion, removal and errors.

#include <cmath>

#include "bg/nn.h"
#include "module_repr.h"
#include "test_util.h"

using namespace bg;
using bg::test::repr;
namespace utils = bg::nn::utils;
using bg::test::check_close;
using bg::test::check_error;
using bg::test::values;

namespace {

// A stochastic parametrization: w = mu + exp(log_sigma) * noise, the noise of draw k being row
// k of a fixed table, so the draws are random-looking but reproducible (finite differences can
// hold them fixed). `draws` counts the calls to compute().
class NoisyWeight : public nn::Parametrization {
 public:
  NoisyWeight(const Tensor& init, Tensor noise)
      : Parametrization("NoisyWeight"), noise_(std::move(noise)) {
    NoGradGuard no_grad;
    mu = register_parameter("mu", init.detach().clone());
    log_sigma = register_parameter("log_sigma", full_like(init, -1.0));
  }
  Tensor compute() override { return value_of_draw(draws++); }
  bool is_stochastic() const override { return true; }
  /// What draw k gives (without counting it).
  Tensor value_of_draw(int64_t k) const {
    return mu + log_sigma.exp() * noise_[k % noise_.size(0)];
  }

  Tensor mu, log_sigma;
  int64_t draws = 0;

 private:
  Tensor noise_;
};

// A user-defined layer that reads its weight twice per forward pass and knows nothing of
// parametrizations.
struct TwiceImpl : nn::Module {
  TwiceImpl() : Module("Twice") {
    weight = register_parameter("weight", tensor({{0.5, -1.0, 2.0}, {1.5, 0.25, -0.5}}));
  }
  Tensor forward(const Tensor& x) { return x.matmul(weight.t()).tanh() * weight.sum(); }
  Tensor weight;
};
BG_MODULE(Twice);

// Registers a NoisyWeight on `module`'s weight, with a table of 4 draws; returns it with its
// draw counter at 0 (registration computes once to check the shape).
std::shared_ptr<NoisyWeight> add_noise(nn::Module& module, const Tensor& weight) {
  Generator generator(42);
  Shape table{4};
  for (int64_t size : weight.sizes()) table.push_back(size);
  auto noisy = std::make_shared<NoisyWeight>(weight, randn(table, kFloat64, &generator));
  utils::register_parametrization(module, "weight", noisy);
  noisy->draws = 0;
  return noisy;
}

// d loss / d param by central differences, each perturbation an in-place update (as an optimizer
// step is, so parametrizations see it).
std::vector<double> numeric_gradient(const std::function<double()>& loss, const Tensor& param,
                                     double eps = 1e-6) {
  std::vector<double> out;
  NoGradGuard no_grad;
  Tensor flat = param.detach().view({-1});
  for (int64_t j = 0; j < flat.numel(); ++j) {
    Tensor element = flat.narrow(0, j, 1);
    element.add_(eps);
    const double plus = loss();
    element.sub_(2 * eps);
    const double minus = loss();
    element.add_(eps);
    out.push_back((plus - minus) / (2 * eps));
  }
  return out;
}

// g v / ||v|| with the norm over each row (weight_norm with dim = 0) of a 2-d v.
Tensor weight_norm_formula(const Tensor& g, const Tensor& v) {
  return g * v / v.pow(2).sum(1, true).sqrt();
}

}  // namespace

// ---- Stochastic parametrizations ----------------------------------------------------------------

TEST_CASE("a user-defined module is parametrized without changing its code") {
  Twice twice;
  auto noisy = add_noise(*twice, twice->weight);
  CHECK(utils::is_parametrized(*twice));
  CHECK(utils::is_parametrized(*twice, "weight"));
  CHECK_FALSE(utils::is_parametrized(*twice, "bias"));
  CHECK(utils::parametrization_of(*twice, "weight") == noisy);
  CHECK(
      twice->named_parameters().keys() ==
      std::vector<std::string>{"parametrizations.weight.mu", "parametrizations.weight.log_sigma"});
  noisy->sampling_scope()->begin_step();
  const Tensor x = tensor({{1.0, 2.0, 3.0}});
  const Tensor y = twice(x);
  // forward read the weight of draw 0 (both times).
  const Tensor w = noisy->value_of_draw(0).detach();
  CHECK(allclose(twice->weight, w, 0.0, 0.0));
  CHECK(allclose(y, x.matmul(w.t()).tanh() * w.sum(), 1e-15));
}

TEST_CASE("a stochastic parametrization gives one value per sampling step") {
  Twice twice;
  auto noisy = add_noise(*twice, twice->weight);
  const Tensor x = tensor({{1.0, -2.0, 0.5}});
  noisy->sampling_scope()->begin_step();
  const Tensor first = twice(x);
  const Tensor again = twice(x);  // forward reads the weight twice per call: still one draw
  CHECK(noisy->draws == 1);
  test::check_equal(again, first);
  noisy->sampling_scope()->begin_step();
  const Tensor second = twice(x);
  CHECK(noisy->draws == 2);
  CHECK_FALSE(allclose(second, first));
  CHECK(allclose(twice->weight, noisy->value_of_draw(1), 0.0, 0.0));
}

TEST_CASE("sampling scopes are independent: a step of one never redraws another's values") {
  Twice first_module, second_module;
  auto first = add_noise(*first_module, first_module->weight);
  auto second = add_noise(*second_module, second_module->weight);
  CHECK(first->sampling_scope() != second->sampling_scope());
  const Tensor x = tensor({{1.0, -2.0, 0.5}});
  first_module(x);
  second_module(x);
  first->sampling_scope()->begin_step();
  first_module(x);
  second_module(x);
  CHECK(first->draws == 2);
  CHECK(second->draws == 1);
  // Parametrizations sharing a scope step together.
  second->set_sampling_scope(first->sampling_scope());
  first->sampling_scope()->begin_step();
  first_module(x);
  second_module(x);
  CHECK(first->draws == 3);
  CHECK(second->draws == 2);
  check_error({"set_sampling_scope", "NoisyWeight", "null"},
              [&] { second->set_sampling_scope(nullptr); });
}

TEST_CASE("two forward passes summed before one backward differentiate through both draws") {
  Twice twice;
  auto noisy = add_noise(*twice, twice->weight);
  const Tensor x = tensor({{1.0, -2.0, 0.5}, {0.3, 0.2, -1.0}});
  // Two sampling steps, the draws reset so every evaluation sees noise rows 0 and 1.
  auto two_samples = [&] {
    noisy->draws = 0;
    noisy->sampling_scope()->begin_step();
    const Tensor first = twice(x).pow(2).sum();
    noisy->sampling_scope()->begin_step();
    const Tensor second = twice(x).pow(2).sum();
    return first + second;
  };
  two_samples().backward();
  const Tensor mu_grad = noisy->mu.grad().clone();
  const Tensor sigma_grad = noisy->log_sigma.grad().clone();
  auto loss = [&] { return two_samples().item<double>(); };
  check_close(mu_grad, numeric_gradient(loss, noisy->mu), 1e-6, 1e-8);
  check_close(sigma_grad, numeric_gradient(loss, noisy->log_sigma), 1e-6, 1e-8);
  // ... and it is the sum of the gradients of the two draws taken one at a time.
  auto gradient_of_draw = [&](int64_t k) {
    const Tensor w = noisy->value_of_draw(k);
    return autograd::grad({(x.matmul(w.t()).tanh() * w.sum()).pow(2).sum()}, {noisy->mu})[0];
  };
  CHECK(allclose(mu_grad, gradient_of_draw(0) + gradient_of_draw(1), 1e-12));
}

namespace {
// A parametrization that asks linear and the convolutions for the local reparameterization trick
// with a fixed Gaussian, and refuses every other read.
class GaussianOperand : public nn::Parametrization {
 public:
  GaussianOperand(Tensor mean, Tensor stddev)
      : Parametrization("GaussianOperand"), mean(std::move(mean)), stddev(std::move(stddev)) {}
  Tensor compute() override { return mean.clone(); }
  nn::OperandForm operand_form() override {
    return {active ? nn::OperandForm::Kind::LocalReparameterization : nn::OperandForm::Kind::Value,
            mean,
            stddev,
            {},
            {}};
  }
  void check_direct_read() override { BG_CHECK(!active, "GaussianOperand", "read directly"); }
  Tensor mean, stddev;
  bool active = false;
};
}  // namespace

TEST_CASE("operand forms: linear and the convolutions ask the parametrization, other reads check") {
  nn::Linear linear(3, 2);
  linear->to(kFloat64);
  const Tensor mean = tensor({{0.5, -1.0, 2.0}, {1.5, 0.25, -0.5}});
  auto gaussian = std::make_shared<GaussianOperand>(mean, zeros({2, 3}, kFloat64));
  utils::register_parametrization(*linear, "weight", gaussian);
  CHECK(utils::parametrization_of(linear->weight) == gaussian);
  CHECK(utils::parametrization_of(linear->bias) == nullptr);
  CHECK(utils::parametrization_of(Tensor()) == nullptr);
  gaussian->active = true;
  // With a zero stddev, the local reparameterization gives x mean^T + b exactly.
  const Tensor x = tensor({{1.0, 2.0, -1.0}});
  check_close(nn::functional::linear(x, linear->weight, linear->bias),
              values(x.matmul(mean.t()) + linear->bias), 1e-15);
  check_error({"GaussianOperand", "read directly"}, [&] { linear->weight.sum(); });
  gaussian->active = false;
  check_close(linear->weight.sum(), {2.75}, 1e-15);
}

// ---- Weight normalization -----------------------------------------------------------------------

TEST_CASE("weight_norm: w = g v / ||v||, recomputed after in-place updates of g or v") {
  manual_seed(3);
  nn::Linear linear(3, 4);
  linear->to(kFloat64);
  const Tensor before = linear->weight.detach().clone();
  nn::utils::weight_norm(*linear);
  auto norm =
      std::dynamic_pointer_cast<utils::WeightNorm>(utils::parametrization_of(*linear, "weight"));
  REQUIRE(norm != nullptr);
  // g starts as the row norms of the weight and v as the weight: the value is unchanged.
  check_close(norm->g, values(before.pow(2).sum(1, true).sqrt()), 1e-15);
  CHECK(allclose(linear->weight, before, 1e-14));
  const Tensor x = test::leaf({2, 3}, 4);
  {
    NoGradGuard no_grad;  // an optimizer-style step
    norm->g.mul_(tensor({{2.0}, {1.0}, {0.5}, {-1.0}}));
  }
  CHECK(allclose(linear->weight, weight_norm_formula(norm->g, norm->v), 1e-14));
  CHECK(allclose(linear(x), x.matmul(weight_norm_formula(norm->g, norm->v).t()) + linear->bias,
                 1e-14));
  {
    NoGradGuard no_grad;
    norm->v.add_(test::leaf({4, 3}, 5));
  }
  CHECK(allclose(linear->weight, weight_norm_formula(norm->g, norm->v), 1e-14));
  CHECK(repr(*norm) == "WeightNorm(dim=0)");
}

TEST_CASE("weight_norm: gradients reach g and v and agree with finite differences") {
  manual_seed(6);
  nn::Linear linear(3, 2);
  linear->to(kFloat64);
  nn::utils::weight_norm(*linear);
  auto norm =
      std::dynamic_pointer_cast<utils::WeightNorm>(utils::parametrization_of(*linear, "weight"));
  const Tensor x = test::leaf({4, 3}, 7);
  auto loss = [&] { return linear(x).tanh().sum(); };
  loss().backward();
  CHECK_FALSE(linear->weight.is_leaf());
  auto numeric = [&] { return loss().item<double>(); };
  check_close(norm->g.grad(), numeric_gradient(numeric, norm->g), 1e-6, 1e-9);
  check_close(norm->v.grad(), numeric_gradient(numeric, norm->v), 1e-6, 1e-9);
  check_close(linear->bias.grad(), numeric_gradient(numeric, linear->bias), 1e-6, 1e-9);
}

TEST_CASE("weight_norm over dim 1 normalizes each column") {
  const Tensor weight = test::leaf({2, 3}, 8).detach();
  utils::WeightNorm norm(weight, 1);
  check_close(norm.g, values(weight.pow(2).sum(0, true).sqrt()), 1e-15);
  {
    NoGradGuard no_grad;
    norm.g.fill_(2.0);
  }
  check_close(norm.compute(), values(2.0 * weight / weight.pow(2).sum(0, true).sqrt()), 1e-14);
}

TEST_CASE("parametrized names in named_parameters and state_dict; state dict round trip") {
  manual_seed(9);
  nn::Linear source(3, 2);
  nn::utils::weight_norm(*source);
  const std::vector<std::string> names{"bias", "parametrizations.weight.g",
                                       "parametrizations.weight.v"};
  CHECK(source->named_parameters().keys() == names);
  CHECK(source->state_dict().keys() == names);
  {
    NoGradGuard no_grad;
    utils::parametrization_of(*source, "weight")->named_parameters()["g"].mul_(3.0);
  }
  manual_seed(10);
  nn::Linear target(3, 2);
  nn::utils::weight_norm(*target);
  const Tensor read_before = target->weight.detach().clone();  // computed once already
  target->load_state_dict(source->state_dict());
  // Loading writes g and v in place: the weight is recomputed, not stale.
  CHECK(allclose(target->weight, source->weight, 1e-6));
  CHECK_FALSE(allclose(target->weight, read_before));
  const Tensor x = randn({2, 3});
  CHECK(allclose(target(x), source(x), 1e-6));
}

TEST_CASE("Module::to(kFloat64) converts a parametrized layer") {
  nn::Linear linear(3, 2);
  nn::utils::weight_norm(*linear);
  const Tensor weight = linear->weight;  // a handle taken before
  const std::vector<Tensor> handles = linear->parameters();
  linear->to(kFloat64);
  for (const Tensor& p : handles) CHECK(p.dtype() == kFloat64);
  CHECK(weight.dtype() == kFloat64);  // recomputed from the converted g and v
  const Tensor x = test::leaf({2, 3}, 11);
  const Tensor y = linear(x);
  CHECK(y.dtype() == kFloat64);
  y.sum().backward();
  for (const Tensor& p : handles) CHECK(p.grad().dtype() == kFloat64);
}

TEST_CASE("remove_parametrization keeps the current value or restores the original") {
  manual_seed(12);
  for (const bool keep_value : {true, false}) {
    CAPTURE(keep_value);
    nn::Linear linear(3, 2);
    const Tensor weight = linear->weight;
    const Tensor original = weight.detach().clone();
    nn::utils::weight_norm(*linear);
    {
      NoGradGuard no_grad;
      utils::parametrization_of(*linear, "weight")->named_parameters()["g"].mul_(2.0);
    }
    const Tensor current = linear->weight.detach().clone();
    utils::remove_parametrization(*linear, "weight", keep_value);
    CHECK_FALSE(utils::is_parametrized(*linear));
    CHECK(linear->named_children().empty());
    CHECK(linear->named_parameters().keys() == std::vector<std::string>{"bias", "weight"});
    CHECK(linear->named_parameters()["weight"].is_same(weight));  // the same tensor object
    CHECK(weight.is_leaf());
    CHECK(weight.requires_grad());
    test::check_equal(weight.detach(), keep_value ? current : original);
    // It trains as a plain parameter again.
    linear(ones({1, 3})).sum().backward();
    check_close(weight.grad(), std::vector<double>(6, 1.0), 0.0);
  }
}

TEST_CASE("a parametrized layer prints its options and its parametrization like PyTorch") {
  nn::Linear linear(3, 4);
  nn::utils::weight_norm(*linear);
  CHECK(repr(*linear) ==
        "Linear(\n"
        "  in_features=3, out_features=4, bias=true\n"
        "  (parametrizations): ParametrizationDict(\n"
        "    (weight): WeightNorm(dim=0)\n"
        "  )\n"
        ")");
}

// ---- Errors -------------------------------------------------------------------------------------

namespace {
// Computes a tensor of the wrong shape (or, once `shrink` is set, of another shape than before).
class Resizing : public nn::Parametrization {
 public:
  explicit Resizing(Shape sizes) : Parametrization("Resizing"), sizes_(std::move(sizes)) {}
  Tensor compute() override { return zeros(shrink ? Shape{1} : sizes_); }
  bool shrink = false;

 private:
  Shape sizes_;
};
}  // namespace

TEST_CASE("parametrization errors name the module, the tensor and what is wrong") {
  nn::Linear linear(3, 2);
  check_error({"weight_norm", "Linear has no parameter 'wieght'", "(it has: weight, bias)"},
              [&] { nn::utils::weight_norm(*linear, "wieght"); });
  check_error({"register_parametrization", "no parameter or buffer 'w'", "weight, bias"}, [&] {
    utils::register_parametrization(*linear, "w", std::make_shared<Resizing>(Shape{2, 3}));
  });
  check_error(
      {"register_parametrization", "Resizing computes float32[3, 2]",
       "'weight' of Linear is float32[2, 3]"},
      [&] {
        utils::register_parametrization(*linear, "weight", std::make_shared<Resizing>(Shape{3, 2}));
      });
  CHECK_FALSE(utils::is_parametrized(*linear));  // nothing half-done
  check_error({"remove_parametrization", "'weight' of Linear is not parametrized"},
              [&] { utils::remove_parametrization(*linear, "weight"); });
  check_error({"parametrization_of", "not parametrized"},
              [&] { utils::parametrization_of(*linear, "bias"); });

  auto resizing = std::make_shared<Resizing>(Shape{2, 3});
  utils::register_parametrization(*linear, "weight", resizing);
  check_error({"register_parametrization", "'weight' of Linear is already parametrized"}, [&] {
    utils::register_parametrization(*linear, "weight", std::make_shared<Resizing>(Shape{2, 3}));
  });
  check_error({"weight_norm", "'weight' of Linear is already parametrized"},
              [&] { nn::utils::weight_norm(*linear); });
  // A parametrization whose shape changes later is caught when the value is next computed.
  resizing->shrink = true;
  check_error({"parametrization", "Resizing computed float32[1]", "shape [2, 3]"},
              [&] { (void)linear->weight.sizes(); });
}
