// Metrics: hand-computed values, values from independent reference implementations (numpy, in
// the comments; scikit-learn's ROC-curve method for the AUROC), naive loops on random data, and
// the errors users can run into.

#include <bg/bayes/metrics.h>
#include <bg/nn/functional.h>

#include <cmath>

#include "test_util.h"

namespace bayes = bg::bayes;
using bg::Tensor;
using bg::test::check_error;

namespace {

Tensor doubles(const std::vector<double>& v, const bg::Shape& sizes) {
  return bg::tensor(v, sizes, bg::kFloat64);
}
Tensor labels_of(const std::vector<int64_t>& v) {
  return bg::tensor(v, {static_cast<int64_t>(v.size())}, bg::kInt64);
}

// A fixed 12 x 3 set of probabilities, labels, scores and binary targets, and what numpy computes
// for them (rows were drawn from Dirichlet(1, 1, 1) and rounded):
//   rng = np.random.default_rng(3); p = rng.dirichlet([1, 1, 1], size=12).round(2)
//   p[:, 2] = (1 - p[:, 0] - p[:, 1]).round(2); y = rng.integers(0, 3, size=12)
//   s = rng.integers(0, 6, size=12) / 5.0; t = rng.integers(0, 2, size=12)
//   nll = np.mean(-np.log(p[np.arange(12), y]))
//   brier = np.mean(((p - np.eye(3)[y]) ** 2).sum(1))
//   conf, pred = p.max(1), p.argmax(1); ece = 0
//   for m in range(B):
//       b = (conf > m / B) & (conf <= (m + 1) / B)
//       if b.any(): ece += b.mean() * abs((pred[b] == y[b]).mean() - conf[b].mean())
//   # AUROC as scikit-learn's roc_auc_score computes it: the ROC curve at each distinct
//   # threshold, then the trapezoidal area (an algorithm independent of the ranks used here).
//   order = np.argsort(-s, kind="mergesort"); ss, ts = s[order], t[order]
//   last = np.r_[np.where(np.diff(ss))[0], 11]; tps = np.cumsum(ts)[last]; fps = 1 + last - tps
//   auroc = np.trapz(np.r_[0, tps / tps[-1]], np.r_[0, fps / fps[-1]])
struct Reference {
  Tensor probabilities =
      doubles({0.06, 0.21, 0.73, 0.79, 0.12, 0.09, 0.28, 0.07, 0.65, 0.02, 0.12, 0.86,
               0.13, 0.62, 0.25, 0.46, 0.21, 0.33, 0.62, 0.38, 0.0,  0.36, 0.27, 0.37,
               0.36, 0.32, 0.32, 0.21, 0.01, 0.78, 0.48, 0.02, 0.5,  0.76, 0.05, 0.19},
              {12, 3});
  Tensor labels = labels_of({0, 0, 1, 2, 0, 2, 1, 0, 1, 2, 2, 1});
  Tensor scores = doubles({0.0, 0.8, 0.2, 0.8, 1.0, 0.4, 1.0, 0.8, 0.2, 1.0, 0.4, 0.0}, {12});
  Tensor targets = labels_of({1, 1, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0});
  double nll = 1.3395091500325933;
  double brier = 0.75066666666666659;
  double ece15 = 0.39833333333333337;
  double ece5 = 0.32166666666666671;
  double accuracy = 0.33333333333333331;
  double auroc = 0.54166666666666663;
};

// Softmax rows of random logits, float64 [rows, classes].
Tensor random_probabilities(int64_t rows, int64_t classes, uint64_t seed) {
  bg::Generator generator(seed);
  return (bg::randn({rows, classes}, bg::kFloat64, &generator) * 2).softmax(-1);
}
Tensor random_labels(int64_t rows, int64_t classes, uint64_t seed) {
  bg::Generator generator(seed);
  return (bg::rand({rows}, bg::kFloat64, &generator) * static_cast<double>(classes)).to(bg::kInt64);
}

}  // namespace

// ---- Regression ---------------------------------------------------------------------------------

TEST_CASE("gaussian_nll is the mean full negative log-density, constant included") {
  // Element 1: 0.5 log(2 pi) + log 1 + 0; element 2: 0.5 log(2 pi) + log 2 + (3 - 1)^2 / (2 * 4).
  const double half_log_2pi = 0.5 * std::log(2 * M_PI);
  const double expected = (half_log_2pi + (half_log_2pi + std::log(2.0) + 0.5)) / 2;
  const Tensor mean = doubles({0, 1}, {2}), target = doubles({0, 3}, {2});
  CHECK(bayes::gaussian_nll(mean, doubles({1, 2}, {2}), target) ==
        doctest::Approx(expected).epsilon(1e-14));
  CHECK(bayes::gaussian_nll(mean, doubles({1, 4}, {2}), target, bayes::Spread::Variance) ==
        doctest::Approx(expected).epsilon(1e-14));
  // float32 inputs are read in double.
  CHECK(bayes::gaussian_nll(mean.to(bg::kFloat32), doubles({1, 2}, {2}).to(bg::kFloat32),
                            target.to(bg::kFloat32)) == doctest::Approx(expected).epsilon(1e-7));
}

TEST_CASE("gaussian_nll matches gaussian_nll_loss with full = true, and broadcasts the spread") {
  const Tensor mean = bg::test::leaf({4, 3}, 1).detach(),
               target = bg::test::leaf({4, 3}, 2).detach();
  const Tensor var = bg::test::leaf_in({4, 3}, 0.5, 2.0, 3).detach();
  const double reference = bg::nn::functional::gaussian_nll_loss(
                               mean, target, var, bg::nn::GaussianNLLLossOptions().full(true))
                               .item<double>();
  CHECK(bayes::gaussian_nll(mean, var, target, bayes::Spread::Variance) ==
        doctest::Approx(reference).epsilon(1e-12));
  CHECK(bayes::gaussian_nll(mean, var.sqrt(), target) == doctest::Approx(reference).epsilon(1e-12));
  // One std per column [3], or one for everything [] gives what the expanded tensor gives.
  const Tensor column_std = doubles({0.5, 1.0, 2.0}, {3});
  CHECK(bayes::gaussian_nll(mean, column_std, target) ==
        doctest::Approx(bayes::gaussian_nll(mean, column_std.expand({4, 3}).contiguous(), target))
            .epsilon(1e-14));
  CHECK(bayes::gaussian_nll(mean, bg::full({}, 0.7, bg::kFloat64), target) ==
        doctest::Approx(bayes::gaussian_nll(mean, bg::full({4, 3}, 0.7, bg::kFloat64), target))
            .epsilon(1e-14));
}

TEST_CASE("gaussian_nll rejects non-positive spreads and mismatched shapes") {
  const Tensor mean = doubles({0, 1}, {2});
  check_error({"gaussian_nll", "every std must be positive, got 0"}, [&] {
    bayes::gaussian_nll(mean, doubles({1, 0}, {2}), mean);
  });
  check_error({"gaussian_nll", "every variance must be positive, got -1"}, [&] {
    bayes::gaussian_nll(mean, doubles({-1, 1}, {2}), mean, bayes::Spread::Variance);
  });
  check_error({"gaussian_nll", "target float64[3]", "mean float64[2]", "same shape"}, [&] {
    bayes::gaussian_nll(mean, doubles({1, 1}, {2}), doubles({0, 0, 0}, {3}));
  });
  check_error({"gaussian_nll", "std float64[3]", "broadcast", "mean float64[2]"}, [&] {
    bayes::gaussian_nll(mean, doubles({1, 1, 1}, {3}), mean);
  });
  check_error({"gaussian_nll", "non-empty mean"},
              [&] { bayes::gaussian_nll(bg::zeros({0}), bg::ones({0}), bg::zeros({0})); });
  check_error({"gaussian_nll", "floating-point mean", "int64"},
              [&] { bayes::gaussian_nll(labels_of({1}), doubles({1}, {1}), labels_of({1})); });
}

TEST_CASE("rmse is the root of the mean squared error, for any strides") {
  // Squared errors 0, 4, 9.
  CHECK(bayes::rmse(doubles({1, 2, 3}, {3}), doubles({1, 4, 0}, {3})) ==
        doctest::Approx(std::sqrt(13.0 / 3)).epsilon(1e-15));
  const Tensor a = bg::test::strided_leaf({3, 4}, 1).detach(),
               b = bg::test::leaf({3, 4}, 2).detach();
  CHECK(bayes::rmse(a, b) ==
        doctest::Approx((a - b).pow(2).mean().sqrt().item<double>()).epsilon(1e-14));
  check_error({"rmse", "target float64[2]", "prediction float64[3]"}, [] {
    bayes::rmse(doubles({1, 2, 3}, {3}), doubles({1, 2}, {2}));
  });
}

TEST_CASE("interval_coverage counts the targets inside mean +- z std, edges included") {
  const Tensor mean = bg::zeros({5}, bg::kFloat64), std = bg::ones({5}, bg::kFloat64);
  // Inside: 0.5, -2 (on the edge), 1.99; outside: 2.5, -3.
  const Tensor target = doubles({0.5, -2, 2.5, 1.99, -3}, {5});
  CHECK(bayes::interval_coverage(mean, std, target) == 0.6);
  CHECK(bayes::interval_coverage(mean, std, target, 3.0) == 1.0);
  CHECK(bayes::interval_coverage(mean, std, target, 0.4) == 0.0);
  // A scalar std broadcasts; std 0 covers only exact hits.
  CHECK(bayes::interval_coverage(mean, bg::full({}, 0.5, bg::kFloat64), target) == 0.2);
  CHECK(bayes::interval_coverage(mean, bg::zeros({5}, bg::kFloat64),
                                 doubles({0, 0, 1, 0, 0}, {5})) == 0.8);
  // z = 1.96 leaves -2 and 1.99 out.
  CHECK(bayes::interval_coverage(mean, std, target, bayes::z_for_level(0.95)) == 0.2);
  check_error({"interval_coverage", "z must be positive, got 0"},
              [&] { bayes::interval_coverage(mean, std, target, 0.0); });
  check_error({"interval_coverage", "non-negative, got -1"},
              [&] { bayes::interval_coverage(mean, -std, target); });
}

TEST_CASE("z_for_level inverts the Gaussian's central mass") {
  // scipy.stats.norm.ppf(0.975) = 1.959963984540054, norm.ppf(0.75) = 0.6744897501960817.
  CHECK(bayes::z_for_level(0.95) == doctest::Approx(1.959963984540054).epsilon(1e-13));
  CHECK(bayes::z_for_level(0.5) == doctest::Approx(0.6744897501960817).epsilon(1e-13));
  CHECK(bayes::z_for_level(std::erf(1 / std::sqrt(2.0))) == doctest::Approx(1.0).epsilon(1e-13));
  CHECK(bayes::z_for_level(std::erf(3 / std::sqrt(2.0))) == doctest::Approx(3.0).epsilon(1e-13));
  check_error({"z_for_level", "(0, 1), got 1"}, [] { bayes::z_for_level(1.0); });
  check_error({"z_for_level", "(0, 1), got 0"}, [] { bayes::z_for_level(0.0); });
}

// ---- Classification -----------------------------------------------------------------------------

TEST_CASE("accuracy takes logits or probabilities, first index on ties") {
  const Tensor logits = doubles({1, 2, 0, 3, 1, 1, 0, 0, 5, 2, 2, 1}, {4, 3});
  // argmax: 1 (right), 0 (right), 2 (wrong: label 1), tie of 0 and 1 -> 0 (right).
  const Tensor labels = labels_of({1, 0, 1, 0});
  CHECK(bayes::accuracy(logits, labels) == 0.75);
  CHECK(bayes::accuracy(logits.softmax(-1).to(bg::kFloat32), labels) == 0.75);
  // Leading dims: [2, 2, 3] scores with [2, 2] labels.
  CHECK(bayes::accuracy(logits.reshape({2, 2, 3}), labels.reshape({2, 2})) == 0.75);
  const Reference ref;
  CHECK(bayes::accuracy(ref.probabilities, ref.labels) == doctest::Approx(ref.accuracy));
}

TEST_CASE("classification metrics check their labels") {
  const Tensor p = doubles({0.5, 0.5, 0.1, 0.9}, {2, 2});
  check_error({"accuracy", "int64 class labels", "float64[2]"}, [&] {
    bayes::accuracy(p, doubles({0, 1}, {2}));
  });
  check_error({"brier_score", "labels int64[3]", "probabilities float64[2, 2]", "class dim"}, [&] {
    bayes::brier_score(p, labels_of({0, 1, 1}));
  });
  check_error({"categorical_nll", "label 2 (row 1)", "2 classes"}, [&] {
    bayes::categorical_nll(p, labels_of({0, 2}));
  });
  check_error({"expected_calibration_error", "label -1 (row 0)"}, [&] {
    bayes::expected_calibration_error(p, labels_of({-1, 0}));
  });
  check_error({"accuracy", "scores [N, C]"}, [&] {
    bayes::accuracy(bg::full({}, 1.0, bg::kFloat64), labels_of({0}).reshape({}));
  });
}

TEST_CASE("probability metrics reject logits and rows that do not sum to 1") {
  const Tensor logits = doubles({2.0, -1.0, 0.5, 0.5}, {2, 2});
  check_error({"categorical_nll", "row 0", "not a probability distribution", "softmax(logits)"},
              [&] {
                bayes::categorical_nll(logits, labels_of({0, 1}));
              });
  check_error({"brier_score", "row 1", "sums to 1.1"}, [&] {
    bayes::brier_score(doubles({0.5, 0.5, 0.6, 0.5}, {2, 2}), labels_of({0, 1}));
  });
  check_error({"expected_calibration_error", "bins must be at least 1, got 0"}, [&] {
    bayes::expected_calibration_error(logits.softmax(-1), labels_of({0, 1}), 0);
  });
}

TEST_CASE("categorical_nll is the mean -log p[label], clamped at 100") {
  const Tensor p = doubles({0.7, 0.2, 0.1, 0.1, 0.1, 0.8, 0.5, 0.5, 0.0}, {3, 3});
  // The third row gives its label probability 0: it costs 100, not infinity.
  CHECK(bayes::categorical_nll(p, labels_of({0, 2, 2})) ==
        doctest::Approx((-std::log(0.7) - std::log(0.8) + 100) / 3).epsilon(1e-14));
  // Probabilities off [0, 1] by rounding are accepted; a negative one counts as 0.
  CHECK(bayes::categorical_nll(doubles({1 + 1e-7, -1e-7}, {1, 2}), labels_of({1})) == 100.0);
  const Reference ref;
  CHECK(bayes::categorical_nll(ref.probabilities, ref.labels) ==
        doctest::Approx(ref.nll).epsilon(1e-14));
  // Against nll_loss of the log-probabilities on random data.
  const Tensor q = random_probabilities(50, 4, 7), y = random_labels(50, 4, 8);
  CHECK(bayes::categorical_nll(q, y) ==
        doctest::Approx(bg::nn::functional::nll_loss(q.log(), y).item<double>()).epsilon(1e-12));
}

TEST_CASE("expected_calibration_error bins confidences in right-closed intervals") {
  // Confidences 0.9 (right), 0.8 (wrong), 0.7 (right), 0.6 (wrong), 0.55 (right). With 5 bins,
  // 0.8 belongs to (0.6, 0.8] and 0.6 to (0.4, 0.6] (Guo et al.'s intervals):
  //   (0.8, 1]: 1 row, |1 - 0.9| = 0.1; (0.6, 0.8]: 2 rows, |1 - 1.5| = 0.5 (sums over the bin);
  //   (0.4, 0.6]: 2 rows, |1 - 1.15| = 0.15; ECE = (0.1 + 0.5 + 0.15) / 5.
  // (Left-closed bins would put 0.8 with 0.9 and give (0.7 + 0.3 + 0.15) / 5 = 0.23.)
  const Tensor p = doubles({0.9, 0.1, 0.8, 0.2, 0.3, 0.7, 0.6, 0.4, 0.55, 0.45}, {5, 2});
  const Tensor y = labels_of({0, 1, 1, 1, 0});
  CHECK(bayes::expected_calibration_error(p, y, 5) == doctest::Approx(0.15).epsilon(1e-14));
  // One bin: |accuracy - mean confidence| = |0.6 - 0.71|.
  CHECK(bayes::expected_calibration_error(p, y, 1) == doctest::Approx(0.11).epsilon(1e-14));
  // Certain and right everywhere: perfectly calibrated.
  CHECK(bayes::expected_calibration_error(doubles({1, 0, 0, 1}, {2, 2}), labels_of({0, 1})) == 0.0);
  const Reference ref;
  CHECK(bayes::expected_calibration_error(ref.probabilities, ref.labels) ==
        doctest::Approx(ref.ece15).epsilon(1e-14));
  CHECK(bayes::expected_calibration_error(ref.probabilities, ref.labels, 5) ==
        doctest::Approx(ref.ece5).epsilon(1e-14));
}

TEST_CASE("expected_calibration_error agrees with a naive loop over bins on random data") {
  const int64_t rows = 300, classes = 4, bins = 15;
  const Tensor p = random_probabilities(rows, classes, 11).to(bg::kFloat32);
  const Tensor y = random_labels(rows, classes, 12);
  const std::vector<double> confidence = bg::test::values(p.max({1}));
  const std::vector<int64_t> predicted = bg::test::ints(p.argmax(1)), label = bg::test::ints(y);
  double expected = 0;
  for (int64_t m = 0; m < bins; ++m) {
    double count = 0, correct = 0, total_confidence = 0;
    for (int64_t i = 0; i < rows; ++i) {
      const double c = confidence[i];
      if (!(c > static_cast<double>(m) / bins && c <= static_cast<double>(m + 1) / bins)) continue;
      ++count;
      correct += predicted[i] == label[i];
      total_confidence += c;
    }
    if (count > 0) expected += count / rows * std::abs(correct / count - total_confidence / count);
  }
  CHECK(bayes::expected_calibration_error(p, y, bins) == doctest::Approx(expected).epsilon(1e-12));
}

TEST_CASE("brier_score sums the squared errors over classes and averages over rows") {
  // Row 1: 0.3^2 + 0.2^2 + 0.1^2 = 0.14; row 2: 0.1^2 + 0.9^2 + 0.8^2 = 1.46.
  const Tensor p = doubles({0.7, 0.2, 0.1, 0.1, 0.1, 0.8}, {2, 3});
  CHECK(bayes::brier_score(p, labels_of({0, 1})) == doctest::Approx(0.8).epsilon(1e-14));
  const Reference ref;
  CHECK(bayes::brier_score(ref.probabilities, ref.labels) ==
        doctest::Approx(ref.brier).epsilon(1e-14));
  const Tensor q = random_probabilities(40, 5, 3), y = random_labels(40, 5, 4);
  const Tensor one_hot = bg::nn::functional::one_hot(y, 5).to(bg::kFloat64);
  CHECK(bayes::brier_score(q, y) ==
        doctest::Approx((q - one_hot).pow(2).sum({1}).mean().item<double>()).epsilon(1e-12));
}

// ---- AUROC --------------------------------------------------------------------------------------

TEST_CASE("auroc counts correctly ordered pairs, ties as one half") {
  // scikit-learn's documentation example: 0.75.
  CHECK(bayes::auroc(doubles({0.1, 0.4, 0.35, 0.8}, {4}), labels_of({0, 0, 1, 1})) == 0.75);
  // Pairs (positive, negative): (1, 1) tie -> 1/2, (1, 0), (2, 1), (2, 0) -> 3.5 / 4.
  CHECK(bayes::auroc(doubles({1, 1, 2, 0}, {4}), labels_of({1, 0, 1, 0})) == 0.875);
  CHECK(bayes::auroc(bg::ones({6}), labels_of({1, 0, 1, 0, 0, 0})) == 0.5);
  CHECK(bayes::auroc(doubles({3, 4, 1, 2}, {4}), labels_of({1, 1, 0, 0})) == 1.0);
  CHECK(bayes::auroc(doubles({1, 2, 3, 4}, {4}), labels_of({1, 1, 0, 0})) == 0.0);
  const Reference ref;
  CHECK(bayes::auroc(ref.scores, ref.targets) == doctest::Approx(ref.auroc).epsilon(1e-14));
  // Labels as bool or as 0/1 floats; integer scores.
  CHECK(bayes::auroc(ref.scores, ref.targets.to(bg::kBool)) == doctest::Approx(ref.auroc));
  CHECK(bayes::auroc(ref.scores.to(bg::kFloat32), ref.targets.to(bg::kFloat64)) ==
        doctest::Approx(ref.auroc));
  CHECK(bayes::auroc(labels_of({2, 0, 1}), labels_of({1, 0, 0})) == 1.0);
}

TEST_CASE("auroc agrees with the pairwise definition on random scores with ties") {
  bg::Generator generator(5);
  const int64_t n = 200;
  // Scores cut to tenths tie often; positives score a little higher on average.
  const Tensor is_positive = bg::rand({n}, bg::kFloat64, &generator) < 0.3;
  const Tensor raw = bg::rand({n}, bg::kFloat64, &generator) + 0.3 * is_positive.to(bg::kFloat64);
  const Tensor scores = (raw * 10).to(bg::kInt64).to(bg::kFloat64) / 10;
  const std::vector<double> s = bg::test::values(scores);
  const std::vector<int64_t> t = bg::test::ints(is_positive);
  double ordered = 0, pairs = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      if (t[i] != 1 || t[j] != 0) continue;
      ++pairs;
      ordered += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
    }
  }
  CHECK(bayes::auroc(scores, is_positive) == doctest::Approx(ordered / pairs).epsilon(1e-14));
}

TEST_CASE("auroc is undefined for one class, and rejects bad labels and NaN scores") {
  check_error({"auroc", "undefined when all 3 labels are positive"}, [] {
    bayes::auroc(doubles({1, 2, 3}, {3}), labels_of({1, 1, 1}));
  });
  check_error({"auroc", "undefined when all 2 labels are negative"}, [] {
    bayes::auroc(doubles({1, 2}, {2}), bg::zeros({2}, bg::kBool));
  });
  check_error({"auroc", "labels must be 0 or 1", "got 2 (element 1)"}, [] {
    bayes::auroc(doubles({1, 2}, {2}), labels_of({0, 2}));
  });
  check_error({"auroc", "score 0 is NaN"}, [] {
    bayes::auroc(doubles({NAN, 2}, {2}), labels_of({0, 1}));
  });
  check_error({"auroc", "labels int64[3]", "scores float64[2]"}, [] {
    bayes::auroc(doubles({1, 2}, {2}), labels_of({0, 1, 1}));
  });
  check_error({"auroc", "numeric scores", "bool"}, [] {
    bayes::auroc(bg::ones({2}, bg::kBool), labels_of({0, 1}));
  });
}

TEST_CASE("ood_auroc treats the out-of-distribution scores as the positives") {
  // Pairs (out, in): 0.3 > 0.1, 0.3 > 0.2, 0.15 > 0.1, 0.15 < 0.2 -> 3 / 4.
  CHECK(bayes::ood_auroc(doubles({0.1, 0.2}, {2}), doubles({0.3, 0.15}, {2})) == 0.75);
  // Any shapes and dtypes: they are flattened and compared as numbers.
  CHECK(bayes::ood_auroc(doubles({0.1, 0.2, 0.0, 0.05}, {2, 2}),
                         doubles({0.3, 0.15}, {2}).to(bg::kFloat32)) == 0.875);
  check_error({"ood_auroc", "non-empty out-of-distribution scores"},
              [] { bayes::ood_auroc(doubles({0.1}, {1}), bg::zeros({0})); });
}
