#include "bg/bayes/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace bg::bayes {

namespace {

constexpr double kHalfLog2Pi = 0.91893853320467274178;  // 0.5 log(2 pi)

// The elements of `t` in row-major order, as doubles on the host.
std::vector<double> host_values(const Tensor& t) {
  NoGradGuard no_grad;
  const Tensor flat = t.detach().to(kFloat64).cpu().contiguous();
  const double* p = flat.data_ptr<double>();
  return {p, p + flat.numel()};
}

void check_nonempty(const char* op, const char* name, const Tensor& t) {
  BG_CHECK(t.defined() && t.numel() > 0, op, "expected a non-empty ", name, ", got ",
           t.defined() ? describe(t) : std::string("an undefined tensor"));
}

void check_floating(const char* op, const char* name, const Tensor& t) {
  check_nonempty(op, name, t);
  BG_CHECK(t.is_floating_point(), op, "expected a floating-point ", name, ", got ", describe(t));
}

void check_same_shape(const char* op, const char* name, const Tensor& t, const char* like_name,
                      const Tensor& like) {
  check_nonempty(op, name, t);
  BG_CHECK(t.sizes() == like.sizes(), op, "the ", name, " ", describe(t), " and the ", like_name,
           " ", describe(like), " must have the same shape");
}

// `spread` expanded to mean's shape, as host values.
std::vector<double> spread_values(const char* op, const char* name, const Tensor& spread,
                                  const Tensor& mean) {
  check_floating(op, name, spread);
  const Shape& from = spread.sizes();
  const Shape& to = mean.sizes();
  bool broadcasts = from.size() <= to.size();
  for (size_t i = 1; broadcasts && i <= from.size(); ++i) {
    const int64_t size = from[from.size() - i];
    broadcasts = size == 1 || size == to[to.size() - i];
  }
  BG_CHECK(broadcasts, op, "the ", name, " ", describe(spread),
           " must have the mean's shape or broadcast to it (mean ", describe(mean), ")");
  return host_values(spread.expand(to));
}

// Probabilities or scores [..., C] with int64 labels [...], flattened to rows.
struct Rows {
  int64_t count = 0;
  int64_t classes = 0;
  std::vector<double> values;   // count x classes, row-major
  std::vector<int64_t> labels;  // count
  const double* row(int64_t i) const { return values.data() + i * classes; }
};

Rows read_rows(const char* op, const char* name, const Tensor& scores, const Tensor& labels) {
  check_floating(op, name, scores);
  BG_CHECK(scores.dim() >= 1, op, "expected ", name, " [N, C], got ", describe(scores));
  BG_CHECK(labels.defined() && labels.dtype() == kInt64, op, "expected int64 class labels, got ",
           labels.defined() ? describe(labels) : std::string("an undefined tensor"));
  const Shape row_shape(scores.sizes().begin(), scores.sizes().end() - 1);
  BG_CHECK(labels.sizes() == row_shape, op, "the labels ", describe(labels),
           " must have the shape of the ", name, " ", describe(scores), " without its class dim");
  Rows rows;
  rows.classes = scores.size(-1);
  rows.count = scores.numel() / rows.classes;
  rows.values = host_values(scores);
  const Tensor flat_labels = labels.cpu().contiguous();
  rows.labels.assign(flat_labels.data_ptr<int64_t>(),
                     flat_labels.data_ptr<int64_t>() + flat_labels.numel());
  for (int64_t i = 0; i < rows.count; ++i) {
    BG_CHECK(rows.labels[i] >= 0 && rows.labels[i] < rows.classes, op, "label ", rows.labels[i],
             " (row ", i, ") is not a class of ", describe(scores), ", which has ", rows.classes,
             " classes");
  }
  return rows;
}

// The same, for probabilities: each row in [0, 1] and summing to 1 (both to rounding), which
// catches logits passed by mistake.
Rows read_probabilities(const char* op, const Tensor& probabilities, const Tensor& labels) {
  Rows rows = read_rows(op, "probabilities", probabilities, labels);
  for (int64_t i = 0; i < rows.count; ++i) {
    const double* p = rows.row(i);
    const double total = std::accumulate(p, p + rows.classes, 0.0);
    const bool in_range =
        std::all_of(p, p + rows.classes, [](double v) { return v >= -1e-6 && v <= 1 + 1e-6; });
    BG_CHECK(in_range && std::abs(total - 1.0) <= 1e-3, op, "row ", i, " of ",
             describe(probabilities), " is not a probability distribution (it sums to ", total,
             "); pass softmax(logits), or predict's probabilities");
  }
  return rows;
}

// The first index of the largest value.
int64_t argmax(const double* values, int64_t n) {
  return std::max_element(values, values + n) - values;
}

}  // namespace

// ---- Regression ---------------------------------------------------------------------------------

double gaussian_nll(const Tensor& mean, const Tensor& spread, const Tensor& target, Spread kind) {
  const char* name = kind == Spread::Std ? "std" : "variance";
  check_floating("gaussian_nll", "mean", mean);
  check_same_shape("gaussian_nll", "target", target, "mean", mean);
  const std::vector<double> mu = host_values(mean), y = host_values(target);
  const std::vector<double> s = spread_values("gaussian_nll", name, spread, mean);
  double total = 0;
  for (size_t i = 0; i < mu.size(); ++i) {
    BG_CHECK(s[i] > 0, "gaussian_nll", "every ", name, " must be positive, got ", s[i],
             " (element ", i, ")");
    const double variance = kind == Spread::Std ? s[i] * s[i] : s[i];
    const double residual = y[i] - mu[i];
    total += kHalfLog2Pi + 0.5 * std::log(variance) + residual * residual / (2 * variance);
  }
  return total / static_cast<double>(mu.size());
}

double rmse(const Tensor& prediction, const Tensor& target) {
  check_floating("rmse", "prediction", prediction);
  check_same_shape("rmse", "target", target, "prediction", prediction);
  const std::vector<double> p = host_values(prediction), y = host_values(target);
  double total = 0;
  for (size_t i = 0; i < p.size(); ++i) total += (p[i] - y[i]) * (p[i] - y[i]);
  return std::sqrt(total / static_cast<double>(p.size()));
}

double interval_coverage(const Tensor& mean, const Tensor& std, const Tensor& target, double z) {
  BG_CHECK(z > 0, "interval_coverage", "z must be positive, got ", z);
  check_floating("interval_coverage", "mean", mean);
  check_same_shape("interval_coverage", "target", target, "mean", mean);
  const std::vector<double> mu = host_values(mean), y = host_values(target);
  const std::vector<double> s = spread_values("interval_coverage", "std", std, mean);
  int64_t inside = 0;
  for (size_t i = 0; i < mu.size(); ++i) {
    BG_CHECK(s[i] >= 0, "interval_coverage", "every std must be non-negative, got ", s[i],
             " (element ", i, ")");
    inside += std::abs(y[i] - mu[i]) <= z * s[i];
  }
  return static_cast<double>(inside) / static_cast<double>(mu.size());
}

double z_for_level(double level) {
  BG_CHECK(level > 0 && level < 1, "z_for_level", "the level must be in (0, 1), got ", level);
  // P(|Z| <= z) = erf(z / sqrt(2)) grows with z: bisect. erf(10 / sqrt(2)) is 1 in double.
  double low = 0, high = 10;
  for (int i = 0; i < 200 && high - low > 1e-15; ++i) {
    const double middle = 0.5 * (low + high);
    if (std::erf(middle / std::sqrt(2.0)) < level) {
      low = middle;
    } else {
      high = middle;
    }
  }
  return 0.5 * (low + high);
}

// ---- Classification -----------------------------------------------------------------------------

double accuracy(const Tensor& scores, const Tensor& labels) {
  const Rows rows = read_rows("accuracy", "scores", scores, labels);
  int64_t correct = 0;
  for (int64_t i = 0; i < rows.count; ++i) {
    correct += argmax(rows.row(i), rows.classes) == rows.labels[i];
  }
  return static_cast<double>(correct) / static_cast<double>(rows.count);
}

double categorical_nll(const Tensor& probabilities, const Tensor& labels) {
  const Rows rows = read_probabilities("categorical_nll", probabilities, labels);
  double total = 0;
  for (int64_t i = 0; i < rows.count; ++i) {
    // Rounding may leave a probability a hair below 0: it counts as 0.
    const double p = std::max(rows.row(i)[rows.labels[i]], 0.0);
    total -= std::max(std::log(p), -100.0);
  }
  return total / static_cast<double>(rows.count);
}

double expected_calibration_error(const Tensor& probabilities, const Tensor& labels, int64_t bins) {
  BG_CHECK(bins >= 1, "expected_calibration_error", "bins must be at least 1, got ", bins);
  const Rows rows = read_probabilities("expected_calibration_error", probabilities, labels);
  const double width = static_cast<double>(bins);
  std::vector<int64_t> count(bins, 0);
  std::vector<double> correct(bins, 0), confidence(bins, 0);
  for (int64_t i = 0; i < rows.count; ++i) {
    const int64_t predicted = argmax(rows.row(i), rows.classes);
    const double c = rows.row(i)[predicted];
    // The bin m with m / bins < c <= (m + 1) / bins (0 goes to the first bin). The estimate from
    // c * bins can be one off where rounding meets an edge: compare with the edges themselves.
    int64_t m = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(c * width)) - 1, 0, bins - 1);
    while (m > 0 && c <= static_cast<double>(m) / width) --m;
    while (m < bins - 1 && c > static_cast<double>(m + 1) / width) ++m;
    ++count[m];
    correct[m] += predicted == rows.labels[i];
    confidence[m] += c;
  }
  double ece = 0;
  for (int64_t m = 0; m < bins; ++m) {
    if (count[m] == 0) continue;
    // (n_m / n) |correct_m / n_m - confidence_m / n_m| = |correct_m - confidence_m| / n
    ece += std::abs(correct[m] - confidence[m]);
  }
  return ece / static_cast<double>(rows.count);
}

double brier_score(const Tensor& probabilities, const Tensor& labels) {
  const Rows rows = read_probabilities("brier_score", probabilities, labels);
  double total = 0;
  for (int64_t i = 0; i < rows.count; ++i) {
    for (int64_t c = 0; c < rows.classes; ++c) {
      const double error = rows.row(i)[c] - (c == rows.labels[i] ? 1.0 : 0.0);
      total += error * error;
    }
  }
  return total / static_cast<double>(rows.count);
}

// ---- Separating two groups by a score -----------------------------------------------------------

double auroc(const Tensor& scores, const Tensor& labels) {
  check_nonempty("auroc", "scores", scores);
  BG_CHECK(scores.dtype() != kBool, "auroc", "expected numeric scores, got ", describe(scores));
  check_same_shape("auroc", "labels", labels, "scores", scores);
  const std::vector<double> s = host_values(scores), is_positive = host_values(labels);
  const auto n = static_cast<int64_t>(s.size());
  int64_t positives = 0;
  for (int64_t i = 0; i < n; ++i) {
    BG_CHECK(is_positive[i] == 0 || is_positive[i] == 1, "auroc",
             "labels must be 0 or 1 (or bool), got ", is_positive[i], " (element ", i, ")");
    BG_CHECK(!std::isnan(s[i]), "auroc", "score ", i, " is NaN");
    positives += is_positive[i] == 1;
  }
  const int64_t negatives = n - positives;
  BG_CHECK(positives > 0 && negatives > 0, "auroc", "the AUROC is undefined when all ", n,
           " labels are ", positives > 0 ? "positive" : "negative", " (it needs both classes)");
  // Mann-Whitney: AUROC = (sum of the positives' ranks - P (P + 1) / 2) / (P N), with tied scores
  // sharing the mean of their ranks (so that a tie counts one half).
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s[a] < s[b]; });
  double positive_rank_sum = 0;
  for (int64_t start = 0; start < n;) {
    int64_t end = start;
    while (end < n && s[order[end]] == s[order[start]]) ++end;
    const double mean_rank = 0.5 * static_cast<double>(start + 1 + end);  // ranks start+1 .. end
    for (int64_t k = start; k < end; ++k) positive_rank_sum += is_positive[order[k]] * mean_rank;
    start = end;
  }
  const auto p = static_cast<double>(positives), q = static_cast<double>(negatives);
  return (positive_rank_sum - p * (p + 1) / 2) / (p * q);
}

double ood_auroc(const Tensor& in_distribution_scores, const Tensor& out_of_distribution_scores) {
  check_nonempty("ood_auroc", "in-distribution scores", in_distribution_scores);
  check_nonempty("ood_auroc", "out-of-distribution scores", out_of_distribution_scores);
  const Tensor in = in_distribution_scores.detach().flatten();
  const Tensor out = out_of_distribution_scores.detach().flatten().to(in.dtype()).to(in.device());
  return auroc(cat({in, out}), cat({zeros_like(in, kBool), ones_like(out, kBool)}));
}

}  // namespace bg::bayes
