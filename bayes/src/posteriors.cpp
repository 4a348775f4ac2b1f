#include <algorithm>
#include <cctype>
#include <cmath>

#include "bg/bayes/posterior.h"
#include "bg/core/fused_gaussian.h"

namespace bg::bayes {

namespace {
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))
}

Estimator estimator_from_name(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (Estimator e :
       {Estimator::Reparameterization, Estimator::LocalReparameterization, Estimator::Flipout}) {
    if (lower == estimator_name(e)) return e;
  }
  throw Error(detail::concat("estimator: unknown name '", name,
                             "'; the estimators are reparameterization, local_reparameterization, "
                             "flipout"));
}

const char* estimator_name(Estimator estimator) {
  switch (estimator) {
    case Estimator::Reparameterization:
      return "reparameterization";
    case Estimator::LocalReparameterization:
      return "local_reparameterization";
    case Estimator::Flipout:
      return "flipout";
  }
  return "reparameterization";
}

VariationalPosterior::VariationalPosterior(std::string type_name, std::string registry_name,
                                           Args args)
    : nn::Parametrization(std::move(type_name)),
      registry_name_(std::move(registry_name)),
      args_(std::move(args)) {
  // A placeholder until the first draw; every draw then replaces its storage (set_data), so a
  // graph that saved an earlier noise keeps it.
  eps_ = register_buffer("eps", zeros({0}), /*persistent=*/false);
}

Shape VariationalPosterior::noise_shape() { return mean().sizes(); }

Tensor VariationalPosterior::draw_noise(const Shape& sizes) {
  return randn(sizes, mean().options());
}

Tensor VariationalPosterior::noise() {
  // One noise per step of the scope: the value may be computed again within a step (e.g. once
  // without and once with gradients, or after an optimizer step), and must then be the same draw.
  // A vectorised pass in Sample mode draws the noise of its S samples at once.
  const nn::SamplingScope& scope = *sampling_scope();
  const int64_t draws = mode_ == SampleMode::Sample ? scope.samples() : 0;
  if (step_ != scope.step() || (draws > 0 && noise_draws_ != draws)) {
    NoGradGuard no_grad;
    Shape sizes = noise_shape();
    if (draws > 0) sizes.insert(sizes.begin(), draws);
    eps_.set_data(draw_noise(sizes));
    step_ = scope.step();
    noise_draws_ = draws;
  }
  // A handle of its own: it keeps this step's noise when the buffer moves on to the next step's.
  return eps_.detach();
}

Tensor VariationalPosterior::one_draw_noise() {
  const Tensor all = noise();
  return noise_draws_ > 0 ? all[0] : all;
}

Tensor VariationalPosterior::checked_sample(const Tensor& noise) {
  const uint32_t version = noise.version();
  Tensor value = sample(noise);
  BG_CHECK(noise.version() == version, type_name(),
           "sample() modified its noise in place; a posterior must not (autograd saves the noise "
           "of every draw a loss used): use the noise as it is handed out, or draw other noise "
           "by overriding draw_noise()");
  return value;
}

Tensor VariationalPosterior::current_sample() { return checked_sample(noise()); }

Tensor VariationalPosterior::fresh_sample() { return checked_sample(draw_noise(noise_shape())); }

Tensor VariationalPosterior::compute() {
  if (mode_ == SampleMode::Mean) return mean();
  return checked_sample(one_draw_noise());
}

void VariationalPosterior::set_mode(SampleMode mode) {
  if (mode == mode_) return;
  mode_ = mode;
  invalidate();  // the next read computes the new mode's value (the mean, not the last draw)
}

void VariationalPosterior::set_estimator(Estimator estimator) {
  BG_CHECK(
      estimator == Estimator::Reparameterization || independent_gaussian().has_value(), type_name(),
      "the ", estimator_name(estimator),
      " estimator needs a posterior of independent Gaussian weights (independent_gaussian()); ",
      registry_name(), " is not one");
  estimator_ = estimator;
}

nn::OperandForm VariationalPosterior::operand_form() {
  using Kind = nn::OperandForm::Kind;
  if (mode_ != SampleMode::Sample) return {};
  if (estimator_ == Estimator::Reparameterization) {
    if (sampling_scope()->samples() == 0) return {};
    return {Kind::Samples, {}, {}, {}, current_sample()};
  }
  const std::optional<IndependentGaussian> gaussian = independent_gaussian();
  if (estimator_ == Estimator::LocalReparameterization) {
    return {Kind::LocalReparameterization, gaussian->mean, gaussian->stddev, {}, {}};
  }
  // Flipout's rows (S blocks of the batch in a vectorised pass) share one perturbation.
  return {Kind::Flipout, gaussian->mean, gaussian->stddev, one_draw_noise(), {}};
}

void VariationalPosterior::check_direct_read() {
  if (mode_ != SampleMode::Sample) return;
  if (sampling_scope()->samples() > 0) {
    throw VectorizedReadError(detail::concat(
        "BayesianModule::forward_samples: the parameter '", parameter_name_,
        "' was read by code other than nn::functional's linear, conv1d, conv2d and "
        "conv_transpose2d, which would see one tensor where ",
        sampling_scope()->samples(),
        " draws are needed; run the draws one by one (forward passes in a loop; bayes::predict "
        "does so by itself)"));
  }
  if (estimator_ == Estimator::Reparameterization) return;
  throw Error(detail::concat(
      "BayesianModule: the parameter '", parameter_name_, "' uses the ", estimator_name(estimator_),
      " estimator, which only nn::functional's linear, conv1d, conv2d and conv_transpose2d can "
      "apply, but it was read by other code; give it the default estimator (Rule().estimator("
      "\"reparameterization\")), or read it in Mean or Frozen mode"));
}

void VariationalPosterior::set_prior(std::shared_ptr<Prior> prior) {
  prior_ = std::move(prior);
  if (children().empty())
    register_module("prior", prior_);
  else
    replace_module("prior", prior_);
}

void VariationalPosterior::pretty_print(std::ostream& out) const {
  out << type_name() << "(" << args_.str() << ")";
}

GaussianPosterior::GaussianPosterior(const Tensor& original, const Args& args)
    : GaussianPosterior("GaussianPosterior", "gaussian", original, args, false) {}

GaussianPosterior::GaussianPosterior(std::string type_name, std::string registry_name,
                                     const Tensor& original, const Args& args,
                                     bool mu_from_original)
    : VariationalPosterior(std::move(type_name), std::move(registry_name), args) {
  const std::string owner = this->registry_name() + " posterior";
  args.allow_only(owner, mu_from_original ? std::vector<std::string>{"rho"}
                                          : std::vector<std::string>{"mu_std", "rho"});
  BG_CHECK(original.is_floating_point(), owner,
           "only floating-point parameters can be Bayesian, got ", describe(original));
  NoGradGuard no_grad;
  Tensor initial_mu;
  if (mu_from_original) {
    initial_mu = original.detach().clone();
  } else {
    const double mu_std = args.number(owner, "mu_std", 0.1);
    BG_CHECK(mu_std >= 0, owner, "mu_std must be non-negative, got ", mu_std);
    initial_mu = randn(original.sizes(), original.options()) * mu_std;
  }
  mu = register_parameter("mu", initial_mu);
  rho = register_parameter("rho", full_like(original, args.number(owner, "rho", -3.0)));
}

Tensor GaussianPosterior::sigma() const { return softplus(rho); }

std::optional<IndependentGaussian> GaussianPosterior::independent_gaussian() {
  return IndependentGaussian{mu, sigma()};
}

Tensor GaussianPosterior::sample(const Tensor& noise) {
  if (noise.dim() == mu.dim()) return fused::gaussian_sample(mu, rho, noise);
  return mu + sigma() * noise;  // S draws at once: [S, ...]
}

void GaussianPosterior::validate() const {
  NoGradGuard no_grad;
  // NaN compares false, so "not positive" catches it too.
  const Tensor bad = logical_not(sigma() > 0).flatten();
  const int64_t count = bad.sum().item<int64_t>();
  if (count == 0) return;
  const int64_t first = bad.to(kInt64).argmax().item<int64_t>();
  throw Error(detail::concat(registry_name(),
                             " posterior: sigma = softplus(rho) must be positive, "
                             "but it is NaN or not positive at ",
                             count, " of ", bad.numel(), " elements (the first at flat index ",
                             first, ", where rho = ", rho.detach().flatten()[first].item<double>(),
                             ")"));
}

Tensor GaussianPosterior::log_prob(const Tensor& w) {
  const Tensor s = sigma();
  const Tensor z = (w - mu) / s;
  return z * z * -0.5 - s.log() - kLogSqrt2Pi;
}

PretrainedGaussianPosterior::PretrainedGaussianPosterior(const Tensor& original, const Args& args)
    : GaussianPosterior("PretrainedGaussianPosterior", "pretrained_gaussian", original, args,
                        true) {}

}  // namespace bg::bayes
