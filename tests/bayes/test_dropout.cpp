// MC dropout: BayesianDropout / BayesianDropout2d sample in eval mode, enable_mc_dropout switches
// on the nn dropout layers of any model (and survives a later eval()), and predict() over such a
// model varies.

#include <bg/bayes.h>

#include <cmath>
#include <sstream>
#include <string>

#include "test_util.h"

namespace bayes = bg::bayes;
namespace nn = bg::nn;
using bg::Tensor;
using bg::test::check_error;

namespace {

// The elements of `output` are those of `input` either zeroed or scaled by 1 / (1 - p); returns
// the fraction zeroed.
double check_mask(const Tensor& input, const Tensor& output, double p) {
  const std::vector<double> x = bg::test::values(input), y = bg::test::values(output);
  REQUIRE(x.size() == y.size());
  int64_t zeroed = 0, wrong = 0;
  std::string first_wrong;
  for (size_t i = 0; i < x.size(); ++i) {
    if (y[i] == 0) {
      ++zeroed;
    } else if (std::abs(y[i] - x[i] / (1 - p)) > 1e-6 * std::abs(y[i]) && wrong++ == 0) {
      first_wrong = "element " + std::to_string(i) + ": input " + std::to_string(x[i]) +
                    ", output " + std::to_string(y[i]);
    }
  }
  CHECK_MESSAGE(wrong == 0, wrong, " elements neither zeroed nor scaled, the first ", first_wrong);
  return static_cast<double>(zeroed) / static_cast<double>(x.size());
}

// Inputs away from zero, so that a zero in the output can only come from the mask.
Tensor positive_input(const bg::Shape& sizes, uint64_t seed = 1) {
  bg::Generator generator(seed);
  return bg::rand(sizes, bg::kFloat32, &generator) + 0.5;
}

// A user-defined model with dropout at several depths: in a Sequential, in a child module, and
// held directly.
struct BlockImpl : nn::Module {
  BlockImpl() : nn::Module("Block") {
    conv = register_module("conv", nn::Conv2d(2, 2, 1));
    drop2d = register_module("drop2d", nn::Dropout2d(0.5));
  }
  Tensor forward(const Tensor& x) { return drop2d(conv(x)); }
  nn::Conv2d conv = nullptr;
  nn::Dropout2d drop2d = nullptr;
};
BG_MODULE(Block);

struct NetImpl : nn::Module {
  NetImpl() : nn::Module("Net") {
    block = register_module("block", Block());
    head = register_module("head", nn::Sequential(nn::Flatten(), nn::Linear(8, 6), nn::ReLU(),
                                                  nn::Dropout(0.5), nn::Linear(6, 3)));
    drop = register_module("drop", nn::Dropout(0.2));
  }
  Tensor forward(const Tensor& x) { return head(block(drop(x))); }
  Block block = nullptr;
  nn::Sequential head = nullptr;
  nn::Dropout drop = nullptr;
};
BG_MODULE(Net);

// Two forward passes of `net` on `x` differ.
bool varies(Net& net, const Tensor& x) {
  bg::NoGradGuard no_grad;
  return !bg::equal(net(x), net(x));
}

}  // namespace

TEST_CASE("BayesianDropout draws a mask in eval mode as in training, scaled by 1 / (1 - p)") {
  bg::manual_seed(3);
  bayes::BayesianDropout drop(0.3);
  const Tensor x = positive_input({20000});
  for (const bool training : {true, false}) {
    drop->train(training);
    const Tensor y = drop(x);
    // 20000 Bernoulli(0.3) draws: the fraction is within 0.02 (6 standard deviations) of 0.3.
    CHECK(check_mask(x, y, 0.3) == doctest::Approx(0.3).epsilon(0.02 / 0.3));
    // The expected value is unchanged: the mean stays near x's (within about 6 standard errors).
    CHECK(y.mean().item<double>() == doctest::Approx(x.mean().item<double>()).epsilon(0.02));
    CHECK(!bg::equal(y, drop(x)));  // a new mask each call
  }
}

TEST_CASE("BayesianDropout edge cases: p = 0 is the identity, p = 1 zeroes everything") {
  const Tensor x = positive_input({3, 4});
  bayes::BayesianDropout keep_all(0.0);
  keep_all->eval();
  bg::test::check_equal(keep_all(x), x);
  bayes::BayesianDropout drop_all(1.0);
  drop_all->eval();
  bg::test::check_equal(drop_all(x), bg::zeros({3, 4}));
  check_error({"BayesianDropout", "[0, 1], got 1.5"}, [] { bayes::BayesianDropout(1.5); });
  check_error({"BayesianDropout2d", "[0, 1], got -0.1"}, [] { bayes::BayesianDropout2d(-0.1); });
  check_error({"dropout", "floating-point input", "int64"},
              [] { bayes::BayesianDropout(0.5)(bg::zeros({2}, bg::kInt64)); });
}

TEST_CASE("BayesianDropout's gradient is its mask") {
  bayes::BayesianDropout drop(0.4);
  drop->eval();
  // Seeding before each call fixes the mask, so finite differences see one function.
  bg::test::check_gradients(
      [&](const std::vector<Tensor>& in) {
        bg::manual_seed(9);
        return drop(in[0]);
      },
      {bg::test::strided_leaf({3, 5}, 2)});
  const Tensor x = positive_input({50}).to(bg::kFloat64).requires_grad_();
  const Tensor y = drop(x);
  y.sum().backward();
  bg::test::check_close(x.grad(), bg::test::values(y.detach() / x.detach()), 1e-12);
}

TEST_CASE("BayesianDropout2d drops whole channels in eval mode") {
  bg::manual_seed(4);
  bayes::BayesianDropout2d drop(0.5);
  drop->eval();
  const Tensor x = positive_input({4, 50, 3, 3});
  const Tensor y = drop(x);
  // Each [3, 3] plane is all zero or all scaled by 2.
  const Tensor scale = (y / x).reshape({200, 9});
  const std::vector<double> ratio = bg::test::values(scale);
  int64_t zeroed = 0, mixed = 0;
  for (int64_t plane = 0; plane < 200; ++plane) {
    const double first = ratio[plane * 9];
    zeroed += first == 0;
    for (int64_t k = 0; k < 9; ++k) {
      const double r = ratio[plane * 9 + k];
      mixed += !(first == 0 ? r == 0 : std::abs(r - 2.0) <= 1e-6);
    }
  }
  CHECK(mixed == 0);
  // 200 Bernoulli(0.5) planes: within 6 standard deviations (0.21) of 0.5.
  CHECK(static_cast<double>(zeroed) / 200 == doctest::Approx(0.5).epsilon(0.42));
  CHECK(!bg::equal(y, drop(x)));
  // [C, H, W] inputs work; others name the op and the expected layout.
  CHECK(drop(positive_input({5, 2, 2})).sizes() == bg::Shape{5, 2, 2});
  check_error({"dropout2d", "[N, C, H, W] or [C, H, W]", "float32[4, 5]"}, [&] {
    drop(positive_input({4, 5}));
  });
}

TEST_CASE("BayesianDropout layers print their options") {
  std::ostringstream out;
  out << *bayes::BayesianDropout(0.25) << "; "
      << *bayes::BayesianDropout2d(bayes::BayesianDropout2dOptions(0.5).inplace(true));
  CHECK(out.str() ==
        "BayesianDropout(p=0.25, inplace=false); BayesianDropout2d(p=0.5, inplace=true)");
}

TEST_CASE("enable_mc_dropout reaches nested dropout layers and survives eval()") {
  bg::manual_seed(5);
  Net net;
  const Tensor x = positive_input({4, 2, 2, 2});
  net->eval();
  CHECK(!varies(net, x));  // plain eval: the dropout layers are off

  // Dropout in the root, Dropout2d in a child module, Dropout inside a Sequential.
  CHECK(bayes::enable_mc_dropout(net) == 3);
  CHECK(net->drop->active_in_eval);
  CHECK(net->block->drop2d->active_in_eval);
  CHECK(net->head->ptr<nn::DropoutImpl>(3)->active_in_eval);
  CHECK(varies(net, x));
  // A later eval() (or train toggles) leaves Monte Carlo dropout on, unlike setting train mode.
  net->train();
  net->eval();
  CHECK(!net->drop->is_training());
  CHECK(varies(net, x));
  std::ostringstream printed;
  printed << *net->drop;
  CHECK(printed.str() == "Dropout(p=0.2, inplace=false, active_in_eval=true)");

  CHECK(bayes::disable_mc_dropout(net) == 3);
  CHECK(!varies(net, x));
  // A model without dropout: nothing to switch on, and the count says so.
  nn::Linear linear(2, 2);
  CHECK(bayes::enable_mc_dropout(linear) == 0);
}

TEST_CASE("enable_mc_dropout reaches into a BayesianModule's wrapped model") {
  nn::Sequential net(nn::Linear(3, 4), nn::Dropout(0.5), nn::Linear(4, 1));
  bayes::BayesianModule bnn(net, bayes::BayesianOptions().mode(bayes::SampleMode::Mean));
  bnn->eval();
  const Tensor x = positive_input({8, 3});
  CHECK(bg::equal(bnn(x), bnn(x)));  // posterior means, no dropout
  CHECK(bayes::enable_mc_dropout(bnn) == 1);
  CHECK(!bg::equal(bnn(x), bnn(x)));
}

TEST_CASE("predict over an MC-dropout model measures its uncertainty") {
  bg::manual_seed(6);
  nn::Sequential regressor(nn::Linear(2, 32), nn::ReLU(), bayes::BayesianDropout(0.2),
                           nn::Linear(32, 1));
  regressor->eval();
  const Tensor x = positive_input({10, 2});
  const bayes::Prediction spread = bayes::predict(regressor, x, 50);
  CHECK(spread.std.sizes() == bg::Shape{10, 1});
  CHECK(spread.std.min().item<double>() > 0);

  // The same model through enable_mc_dropout, for classification: the draws disagree, so the
  // mutual information (the epistemic part) is positive; without MC dropout it is zero.
  nn::Sequential classifier(nn::Linear(2, 32), nn::ReLU(), nn::Dropout(0.2), nn::Linear(32, 3));
  classifier->eval();
  const bayes::Prediction off = bayes::predict(classifier, x, 20, bayes::Task::Classification);
  bg::test::check_close(off.mutual_information, std::vector<double>(10, 0.0), 0, 1e-6);
  bayes::enable_mc_dropout(classifier);
  const bayes::Prediction on = bayes::predict(classifier, x, 20, bayes::Task::Classification);
  CHECK(on.mutual_information.min().item<double>() > 0);
}

TEST_CASE("enable_mc_dropout reaches Dropout1d, Dropout3d, AlphaDropout and FeatureAlphaDropout") {
  nn::Sequential net(nn::Dropout1d(0.5), nn::Dropout3d(0.5), nn::AlphaDropout(0.5),
                     nn::FeatureAlphaDropout(0.5), nn::Dropout(0.5));
  net->eval();
  CHECK(bayes::enable_mc_dropout(net) == 5);
  for (const auto& module : net->children()) {
    CHECK(module->as<nn::DropoutBase>()->active_in_eval);
  }
  const Tensor x = bg::ones({2, 3, 4});
  CHECK(!bg::equal(net[2]->as<nn::AlphaDropoutImpl>()->forward(x), x));
  net->train(false);  // eval() again leaves the flag alone
  CHECK(net[0]->as<nn::Dropout1dImpl>()->active_in_eval);
  CHECK(bayes::disable_mc_dropout(net) == 5);
  CHECK(net[2]->as<nn::AlphaDropoutImpl>()->forward(x).is_same(x));
}
