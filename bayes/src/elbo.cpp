#include "bg/bayes/elbo.h"

#include <algorithm>
#include <cmath>

namespace bg::bayes {

namespace {
void check_weight(const char* op, const char* what, double weight) {
  BG_CHECK(std::isfinite(weight) && weight >= 0, op, what, " must be finite and non-negative, got ",
           weight);
}

// 2^-n; past the double range it underflows to 0 (std::ldexp takes an int).
double inverse_power_of_two(int64_t n) {
  return std::ldexp(1.0, -static_cast<int>(std::min<int64_t>(n, 2000)));
}
}  // namespace

Tensor elbo_loss(const Tensor& nll, BayesianModuleImpl& bnn, int64_t dataset_size, double kl_weight,
                 int64_t mc_samples) {
  BG_CHECK(
      nll.defined() && nll.is_floating_point() && nll.numel() == 1, "elbo_loss",
      "nll must be the mean negative log-likelihood of the minibatch, a floating-point scalar; "
      "got ",
      describe(nll), " (reduce it with its mean)");
  BG_CHECK(dataset_size >= 1, "elbo_loss", "dataset_size must be at least 1, got ", dataset_size);
  check_weight("elbo_loss", "kl_weight", kl_weight);
  const Tensor kl = bnn.kl_divergence({KLReduction::Sum, mc_samples});
  return nll.reshape({}) + kl * (kl_weight / static_cast<double>(dataset_size));
}

double blundell_weight(int64_t batch, int64_t num_batches) {
  BG_CHECK(num_batches >= 1 && batch >= 1 && batch <= num_batches, "blundell_weight",
           "expected 1 <= batch <= num_batches, got batch ", batch, " of ", num_batches);
  // 2^(M - i) / (2^M - 1) = 2^-i / (1 - 2^-M), which overflows for no M.
  return inverse_power_of_two(batch) / (1.0 - inverse_power_of_two(num_batches));
}

KLSchedule KLSchedule::constant(double weight) {
  check_weight("KLSchedule::constant", "the weight", weight);
  return KLSchedule(Kind::Constant, weight, 0);
}

KLSchedule KLSchedule::linear(int64_t warmup_steps, double final_weight) {
  BG_CHECK(warmup_steps >= 1, "KLSchedule::linear", "warmup_steps must be at least 1, got ",
           warmup_steps);
  check_weight("KLSchedule::linear", "final_weight", final_weight);
  return KLSchedule(Kind::Linear, final_weight, warmup_steps);
}

KLSchedule KLSchedule::blundell(int64_t num_batches) {
  BG_CHECK(num_batches >= 1, "KLSchedule::blundell", "num_batches must be at least 1, got ",
           num_batches);
  return KLSchedule(Kind::Blundell, 1.0, num_batches);
}

double KLSchedule::weight(int64_t step) const {
  BG_CHECK(step >= 0, "KLSchedule::weight", "step must be non-negative, got ", step);
  switch (kind_) {
    case Kind::Constant:
      return weight_;
    case Kind::Linear:
      return step >= steps_ ? weight_
                            : weight_ * static_cast<double>(step) / static_cast<double>(steps_);
    case Kind::Blundell:
      return static_cast<double>(steps_) * blundell_weight(step % steps_ + 1, steps_);
  }
  return weight_;
}

}  // namespace bg::bayes
