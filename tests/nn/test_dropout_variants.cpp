// Dropout1d, Dropout3d, AlphaDropout and FeatureAlphaDropout: which elements they drop, the values
// they give (PyTorch's formulas), their gradients, eval mode, printing and errors.

#include <bg/nn.h>

#include <cmath>
#include <sstream>

#include "test_util.h"

using namespace bg;
namespace F = bg::nn::functional;
using test::check_error;

namespace {

// SELU's negative saturation value is -kAlpha (PyTorch's alpha_dropout constant).
constexpr double kAlpha = 1.7580993408473766;

// Splits `y` [..., run] into runs of `run` elements; each run must be all dropped (0) or all kept
// (the input times `scale`, the input being ones). Returns the fraction dropped.
double dropped_runs(const Tensor& y, int64_t run, double scale) {
  const std::vector<double> v = test::values(y);
  int64_t runs = 0, dropped = 0;
  for (size_t start = 0; start < v.size(); start += static_cast<size_t>(run)) {
    ++runs;
    const double first = v[start];
    CHECK((first == 0.0 || first == doctest::Approx(scale)));
    for (size_t i = start; i < start + static_cast<size_t>(run); ++i) CHECK(v[i] == first);
    dropped += first == 0.0;
  }
  return static_cast<double>(dropped) / static_cast<double>(runs);
}

}  // namespace

TEST_CASE("dropout1d and dropout3d drop whole channels") {
  manual_seed(5);
  const double p = 0.3;
  for (const Shape& sizes : {Shape{40, 50, 4}, Shape{2000, 4}}) {
    CAPTURE(sizes);
    // 2000 channels: the standard deviation of the dropped fraction is 0.01.
    CHECK(dropped_runs(F::dropout1d(ones(sizes, kFloat64), p), 4, 1 / (1 - p)) ==
          doctest::Approx(p).epsilon(0.2));
  }
  for (const Shape& sizes : {Shape{20, 100, 2, 1, 3}, Shape{2000, 2, 1, 3}}) {
    CAPTURE(sizes);
    CHECK(dropped_runs(F::dropout3d(ones(sizes, kFloat64), p), 6, 1 / (1 - p)) ==
          doctest::Approx(p).epsilon(0.2));
  }
  const Tensor x = test::leaf({2, 3, 4});
  CHECK(F::dropout1d(x, p, false).is_same(x));
  check_error({"dropout1d", "[N, C, L] or [C, L]", "float32[4]"}, [] { F::dropout1d(zeros({4})); });
  check_error({"dropout3d", "[N, C, D, H, W] or [C, D, H, W]", "float32[2, 3, 4]"}, [] {
    F::dropout3d(zeros({2, 3, 4}));
  });
  check_error({"dropout1d", "[0, 1]", "2"}, [&] { F::dropout1d(x, 2.0); });
  // The gradient is the mask (one draw, fixed by the seed).
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        manual_seed(2);
        return F::dropout3d(in[0], 0.5);
      },
      {test::strided_leaf({2, 3, 2, 1, 2})});
}

TEST_CASE("alpha_dropout sets dropped elements to SELU's saturation and corrects mean and scale") {
  manual_seed(7);
  const double p = 0.2;
  const double a = 1.0 / std::sqrt((kAlpha * kAlpha * p + 1.0) * (1.0 - p));
  // Kept: a x + a alpha p; dropped: a alpha (p - 1) (PyTorch's _dropout_impl).
  const Tensor x = test::leaf({1000});
  const Tensor y = F::alpha_dropout(x, p, true);
  const std::vector<double> xs = test::values(x), ys = test::values(y);
  int64_t dropped = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const bool was_dropped = std::abs(ys[i] - a * kAlpha * (p - 1)) < 1e-12;
    if (!was_dropped) CHECK(ys[i] == doctest::Approx(a * xs[i] + a * kAlpha * p).epsilon(1e-12));
    dropped += was_dropped;
  }
  CHECK(static_cast<double>(dropped) / 1000.0 == doctest::Approx(p).epsilon(0.4));
  // A standard normal input keeps mean 0 and variance 1 (200000 draws: within 0.01).
  const Tensor z = randn({200000}, kFloat64);
  const Tensor out = F::alpha_dropout(z, 0.5, true);
  CHECK(out.mean().item<double>() == doctest::Approx(0.0).epsilon(0.01).scale(1.0));
  CHECK(out.var().item<double>() == doctest::Approx(1.0).epsilon(0.02));
  // Eval (PyTorch's default: training = false) and p = 0 return the input; p = 1 gives zeros.
  CHECK(F::alpha_dropout(x, p).is_same(x));
  CHECK(F::alpha_dropout(x, 0.0, true).is_same(x));
  test::check_close(F::alpha_dropout(x, 1.0, true), std::vector<double>(1000, 0.0), 0.0);
  // The gradient is a times the keep mask.
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        manual_seed(3);
        return F::alpha_dropout(in[0], 0.4, true);
      },
      {test::strided_leaf({3, 4})});
  check_error({"alpha_dropout", "floating-point", "int64"},
              [] { F::alpha_dropout(zeros({2}, kInt64), 0.5, true); });
}

TEST_CASE("feature_alpha_dropout drops whole channels, in place when asked") {
  manual_seed(8);
  const double p = 0.5;
  const double a = 1.0 / std::sqrt((kAlpha * kAlpha * p + 1.0) * (1.0 - p));
  Tensor x = zeros({40, 50, 3}, kFloat64);
  const Tensor y = F::feature_alpha_dropout(x, p, true, true);
  CHECK(y.is_same(x));
  // Zeros in: kept channels give a alpha p, dropped ones a alpha (p - 1), all 3 alike.
  const std::vector<double> v = test::values(x);
  for (size_t start = 0; start < v.size(); start += 3) {
    CHECK((v[start] == doctest::Approx(a * kAlpha * p) ||
           v[start] == doctest::Approx(a * kAlpha * (p - 1))));
    CHECK(v[start + 1] == v[start]);
    CHECK(v[start + 2] == v[start]);
  }
  check_error({"feature_alpha_dropout", "at least 2 dims", "float32[3]"},
              [] { F::feature_alpha_dropout(zeros({3}), 0.5, true); });
}

TEST_CASE("the dropout layers follow train/eval, print like PyTorch, and take MC dropout") {
  manual_seed(1);
  nn::Dropout1d drop1(0.5);
  nn::Dropout3d drop3;
  nn::AlphaDropout alpha(0.1);
  nn::FeatureAlphaDropout feature(nn::FeatureAlphaDropoutOptions(0.3).inplace(true));
  const Tensor x = ones({2, 8, 4});
  CHECK(!equal(drop1(x), x));
  CHECK(!equal(alpha(x), x));
  drop1->eval();
  alpha->eval();
  CHECK(drop1(x).is_same(x));
  CHECK(alpha(x).is_same(x));
  drop1->active_in_eval = true;
  CHECK(!equal(drop1(x), x));
  // print(nn.Dropout1d(0.5), nn.Dropout3d(), nn.AlphaDropout(0.1), nn.FeatureAlphaDropout(0.3))
  std::ostringstream out;
  out << *drop1 << " " << *drop3 << " " << *alpha << " " << *feature;
  CHECK(out.str() ==
        "Dropout1d(p=0.5, inplace=false, active_in_eval=true) Dropout3d(p=0.5, inplace=false) "
        "AlphaDropout(p=0.1, inplace=false) FeatureAlphaDropout(p=0.3, inplace=true)");
  check_error({"AlphaDropout", "[0, 1]", "-0.5"}, [] { nn::AlphaDropout(-0.5); });
  check_error({"Dropout3d", "[0, 1]", "1.5"}, [] { nn::Dropout3d(1.5); });
}
