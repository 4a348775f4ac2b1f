#pragma once
// Metrics for predictions with uncertainty: how good the predictive distribution is, how well its
// confidence matches its accuracy, and how well an uncertainty score tells inputs the model knows
// from inputs it does not.
//
//   bayes::Prediction p = bayes::predict(bnn, x_test, 100, bayes::Task::Classification);
//   double acc = bayes::accuracy(p.probabilities, y_test);
//   double ece = bayes::expected_calibration_error(p.probabilities, y_test);
//   bayes::Prediction ood = bayes::predict(bnn, x_ood, 100, bayes::Task::Classification);
//   double auc = bayes::ood_auroc(p.mutual_information, ood.mutual_information);
//
// Each metric summarizes a whole evaluation set into one number, computed in double precision on
// the host (inputs of any floating dtype, device and strides; no graph is recorded). To train
// on a likelihood, use the differentiable losses of nn::functional (gaussian_nll_loss,
// nll_loss, cross_entropy) instead.
//
// Classification metrics take probabilities (or, for accuracy, any scores) [N, C] and int64
// labels [N] in [0, C); more leading dims work alike ([..., C] with labels [...]).

#include "bg/core.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::bayes {

// ---- Regression ---------------------------------------------------------------------------------

/// What the spread argument of gaussian_nll holds.
enum class Spread {
  Std,       ///< standard deviations (what predict returns)
  Variance,  ///< variances
};

/// The mean over elements of -log N(target | mean, std^2)
///   = 0.5 log(2 pi) + log(std) + (target - mean)^2 / (2 std^2),
/// the full negative log-density, constant included (as gaussian_nll_loss with full = true, which
/// also clamps small variances; here a std must be positive). `spread` holds stds or variances
/// (`kind`) of mean's shape or broadcastable to it; target has mean's shape.
double gaussian_nll(const Tensor& mean, const Tensor& spread, const Tensor& target,
                    Spread kind = Spread::Std);

/// sqrt(mean((prediction - target)^2)) over elements of two tensors of the same shape.
double rmse(const Tensor& prediction, const Tensor& target);

/// The fraction of elements with |target - mean| <= z std: of a calibrated Gaussian, about
/// 0.954 for z = 2. `std` has mean's shape or broadcasts to it (non-negative); target has mean's
/// shape. For a central interval of a given probability, pass z_for_level(level).
double interval_coverage(const Tensor& mean, const Tensor& std, const Tensor& target,
                         double z = 2.0);

/// The z whose interval mean +- z std holds `level` (in (0, 1)) of a Gaussian's mass:
/// z_for_level(0.95) = 1.95996..., z_for_level(0.6827) = 1.0000.
double z_for_level(double level);

// ---- Classification -----------------------------------------------------------------------------

/// The fraction of rows whose largest score (a probability or a logit: the argmax is the same;
/// the first one on ties) is at the label.
double accuracy(const Tensor& scores, const Tensor& labels);

/// The mean over rows of -log p[label], with each log clamped to at least -100 (as
/// binary_cross_entropy) so that a zero probability costs 100 instead of infinity.
double categorical_nll(const Tensor& probabilities, const Tensor& labels);

/// Expected calibration error (Guo et al., 2017): rows are put in `bins` equal-width bins by their
/// confidence (the largest probability), bin m holding confidences in ((m-1)/bins, m/bins];
/// ECE = sum over bins of (rows in the bin / rows) |accuracy in the bin - mean confidence in it|.
/// Confidences are compared with the bin edges in double precision.
double expected_calibration_error(const Tensor& probabilities, const Tensor& labels,
                                  int64_t bins = 15);

/// Multiclass Brier score: the mean over rows of sum over classes of (p[c] - 1[c == label])^2, in
/// [0, 2] (0 for certain, correct predictions).
double brier_score(const Tensor& probabilities, const Tensor& labels);

// ---- Separating two groups by a score -----------------------------------------------------------

/// Exact area under the ROC curve of `scores` (higher means "positive") for `labels` of the same
/// shape, bool or numbers 0/1: the probability that a random positive scores higher than a random
/// negative, ties counting one half (computed from ranks, as the Mann-Whitney U statistic). Throws
/// when all labels are the same class (the AUROC is undefined then, as in scikit-learn) and on NaN
/// scores.
double auroc(const Tensor& scores, const Tensor& labels);

/// auroc of an uncertainty score for telling out-of-distribution inputs (the positives) from
/// in-distribution ones, e.g. predictive entropy or mutual information: 0.5 is chance, 1 a perfect
/// separation.
double ood_auroc(const Tensor& in_distribution_scores, const Tensor& out_of_distribution_scores);

}  // namespace bg::bayes

BG_API_END
