#include "bg/bayes/likelihood.h"

#include <cmath>
#include <numbers>

namespace bg::bayes {

namespace {
const double kLog2Pi = std::log(2 * std::numbers::pi);

// The sum over the dims that an example of `target` [batch, ...] spans, i.e. its last
// target.dim() - 1 dims, of `elementwise` [..., batch, ...]: one value per example (and per draw,
// for outputs with a leading dim of draws).
Tensor per_example(const Tensor& elementwise, const Tensor& target) {
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < target.dim(); ++d) dims.push_back(elementwise.dim() - d);
  return dims.empty() ? elementwise : elementwise.sum(dims);
}

// The output's last dims must be the target's (the output may have a leading dim of draws).
void check_ends_with(const char* who, const Tensor& output, const Shape& sizes,
                     const Tensor& target) {
  const Shape& out = output.sizes();
  const bool fits = target.dim() >= 1 && out.size() >= sizes.size() &&
                    std::equal(sizes.begin(), sizes.end(), out.end() - sizes.size());
  BG_CHECK(fits, who, "the output ", describe(output), " does not fit the target ",
           describe(target));
}

// log N(y; mean, variance), elementwise.
Tensor gaussian_log_density(const Tensor& y, const Tensor& mean, const Tensor& variance) {
  return ((y - mean).pow(2) / variance + variance.log() + kLog2Pi) * -0.5;
}
}  // namespace

Tensor Likelihood::predictive_mean(const Tensor&) {
  throw Error(type_name() + ": not a regression likelihood (no predictive mean)");
}

Tensor Likelihood::noise_variance(const Tensor&) {
  throw Error(type_name() + ": not a regression likelihood (no noise variance)");
}

Tensor Likelihood::forward(const Tensor& output, const Tensor& target) {
  return -log_prob(output, target).mean();
}

GaussianLikelihoodImpl::GaussianLikelihoodImpl(double sigma, bool learn_noise)
    : Likelihood("GaussianLikelihood") {
  BG_CHECK(sigma > 0 && std::isfinite(sigma), "GaussianLikelihood",
           "the noise's standard deviation must be positive and finite, got ", sigma);
  const Tensor initial = full({}, std::log(sigma));
  log_sigma = learn_noise ? register_parameter("log_sigma", initial)
                          : register_buffer("log_sigma", initial);
}

Tensor GaussianLikelihoodImpl::log_prob(const Tensor& output, const Tensor& target) {
  check_ends_with("GaussianLikelihood", output, target.sizes(), target);
  const Tensor z = (target - output) / log_sigma.exp();
  return per_example(z * z * -0.5 - log_sigma - 0.5 * kLog2Pi, target);
}

Tensor GaussianLikelihoodImpl::noise_variance(const Tensor& output) {
  return (log_sigma * 2).exp().expand(output.sizes());
}

void GaussianLikelihoodImpl::pretty_print(std::ostream& out) const {
  out << "GaussianLikelihood(sigma=" << sigma().item<double>()
      << ", learn_noise=" << (log_sigma.requires_grad() ? "true" : "false") << ")";
}

HeteroscedasticGaussianLikelihoodImpl::HeteroscedasticGaussianLikelihoodImpl(double min_variance)
    : Likelihood("HeteroscedasticGaussianLikelihood"), min_variance(min_variance) {
  BG_CHECK(min_variance >= 0, "HeteroscedasticGaussianLikelihood",
           "min_variance must be non-negative, got ", min_variance);
}

Tensor HeteroscedasticGaussianLikelihoodImpl::log_prob(const Tensor& output, const Tensor& target) {
  BG_CHECK(output.dim() >= 1 && output.size(-1) == 2, "HeteroscedasticGaussianLikelihood",
           "expected an output [..., 2] (mean, raw variance), got ", describe(output));
  check_ends_with("HeteroscedasticGaussianLikelihood", output.select(-1, 0), target.sizes(),
                  target);
  return per_example(gaussian_log_density(target, predictive_mean(output), noise_variance(output)),
                     target);
}

Tensor HeteroscedasticGaussianLikelihoodImpl::predictive_mean(const Tensor& output) {
  return output.select(-1, 0);
}

Tensor HeteroscedasticGaussianLikelihoodImpl::noise_variance(const Tensor& output) {
  return softplus(output.select(-1, 1)) + min_variance;
}

void HeteroscedasticGaussianLikelihoodImpl::pretty_print(std::ostream& out) const {
  out << "HeteroscedasticGaussianLikelihood(min_variance=" << min_variance << ")";
}

CategoricalLikelihoodImpl::CategoricalLikelihoodImpl() : Likelihood("CategoricalLikelihood") {}

Tensor CategoricalLikelihoodImpl::log_prob(const Tensor& output, const Tensor& target) {
  BG_CHECK(target.dtype() == kInt64, "CategoricalLikelihood",
           "expected int64 class indices as the target, got ", describe(target));
  BG_CHECK(output.dim() >= 1, "CategoricalLikelihood", "expected logits [..., C], got ",
           describe(output));
  const Tensor logits = output.select(-1, 0);
  check_ends_with("CategoricalLikelihood", logits, target.sizes(), target);
  Shape index_sizes = logits.sizes();
  index_sizes.push_back(1);
  const Tensor index = target.unsqueeze(-1).expand(index_sizes);
  return per_example(output.log_softmax(-1).gather(-1, index).squeeze(-1), target);
}

}  // namespace bg::bayes
