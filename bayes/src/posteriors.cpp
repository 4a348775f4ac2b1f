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
  args.allow_only(owner, mu_from_original ? std::vector<std::string>{"rho", "delta"}
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
  Tensor initial_rho;
  if (args.contains("delta")) {
    // MOPED: sigma = delta |w|, inverted through softplus in double precision, where expm1 of a
    // tiny sigma keeps its digits; 1e-20 keeps the log finite for a weight of 0.
    BG_CHECK(!args.contains("rho"), owner, "takes rho or delta, not both");
    const double delta = args.number(owner, "delta", 0.0);
    BG_CHECK(delta > 0 && std::isfinite(delta), owner, "delta must be positive and finite, got ",
             delta);
    const Tensor sigma = original.detach().to(kFloat64).abs() * delta;
    initial_rho = (sigma.expm1() + 1e-20).log().to(original.dtype());
  } else {
    initial_rho = zeros_like(original) + args.tensor(owner, "rho", -3.0, original);
  }
  rho = register_parameter("rho", initial_rho);
}

Tensor GaussianPosterior::sigma() const { return softplus(rho); }

std::optional<IndependentGaussian> GaussianPosterior::independent_gaussian() {
  return IndependentGaussian{mu, sigma()};
}

Tensor GaussianPosterior::sample(const Tensor& noise) {
  if (noise.dim() == mu.dim()) {
    last_draw_ = fused::gaussian_sample(mu, rho, noise);
    return last_draw_;
  }
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

// ---- Low-rank plus diagonal
// ----------------------------------------------------------------------

namespace {

// The lower Cholesky factor of a small symmetric positive-definite matrix [k, k], built from
// Tensor ops (entry by entry), so that autograd differentiates it. For a small k only.
std::vector<std::vector<Tensor>> cholesky_small(const Tensor& a) {
  const int64_t k = a.size(0);
  std::vector<std::vector<Tensor>> l(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      Tensor sum = a[i][j];
      for (int64_t p = 0; p < j; ++p) sum = sum - l[i][p] * l[j][p];
      l[i].push_back(i == j ? sum.sqrt() : sum / l[j][j]);
    }
  }
  return l;
}

// z with L z = u for the lower factor `l` and right-hand sides u [..., k] (forward substitution).
Tensor forward_solve(const std::vector<std::vector<Tensor>>& l, const Tensor& u) {
  std::vector<Tensor> z;
  for (size_t i = 0; i < l.size(); ++i) {
    Tensor sum = u.select(-1, static_cast<int64_t>(i));
    for (size_t p = 0; p < i; ++p) sum = sum - l[i][p] * z[p];
    z.push_back(sum / l[i][i]);
  }
  return stack(z, -1);
}

// The capacitance I + V^T diag(d^-2) V [k, k] of diag(d^2) + V V^T.
Tensor capacitance(const Tensor& factor, const Tensor& inverse_variance) {
  const int64_t k = factor.size(1);
  return eye(k, std::nullopt, factor.options()) +
         factor.t().matmul(factor * inverse_variance.unsqueeze(1));
}

}  // namespace

LowRankGaussianPosterior::LowRankGaussianPosterior(const Tensor& original, const Args& args)
    : VariationalPosterior("LowRankGaussianPosterior", "lowrank_gaussian", args) {
  const std::string owner = "lowrank_gaussian posterior";
  args.allow_only(owner, {"rank", "mu_std", "rho", "factor_std"});
  BG_CHECK(original.is_floating_point(), owner,
           "only floating-point parameters can be Bayesian, got ", describe(original));
  const double rank = args.number(owner, "rank", 2);
  BG_CHECK(rank >= 1 && rank == std::floor(rank) && rank <= 64, owner,
           "rank must be a whole number in [1, 64], got ", rank);
  const double mu_std = args.number(owner, "mu_std", 0.1);
  const double factor_std = args.number(owner, "factor_std", 0.01);
  BG_CHECK(mu_std >= 0 && factor_std >= 0, owner,
           "mu_std and factor_std must be non-negative, got ", mu_std, " and ", factor_std);
  NoGradGuard no_grad;
  mu = register_parameter("mu", randn(original.sizes(), original.options()) * mu_std);
  rho = register_parameter("rho", zeros_like(original) + args.tensor(owner, "rho", -3.0, original));
  factor = register_parameter(
      "factor",
      randn({original.numel(), static_cast<int64_t>(rank)}, original.options()) * factor_std);
}

Shape LowRankGaussianPosterior::noise_shape() { return {mu.numel() + rank()}; }

Tensor LowRankGaussianPosterior::diagonal_std() const { return softplus(rho); }

Tensor LowRankGaussianPosterior::sample(const Tensor& noise) {
  const int64_t n = mu.numel();
  Shape sizes(noise.sizes().begin(), noise.sizes().end() - 1);  // the leading draws, if any
  sizes.insert(sizes.end(), mu.sizes().begin(), mu.sizes().end());
  const Tensor diagonal = noise.narrow(-1, 0, n).reshape(sizes);
  const Tensor along_factor = noise.narrow(-1, n, rank()).matmul(factor.t()).reshape(sizes);
  return mu + diagonal_std() * diagonal + along_factor;
}

Tensor LowRankGaussianPosterior::log_det_covariance() const {
  const Tensor d = diagonal_std().flatten();
  const auto l = cholesky_small(capacitance(factor, d.pow(-2)));
  // det(D + V V^T) = det(D) det(I + V^T D^-1 V) (the matrix determinant lemma).
  Tensor log_det = d.log().sum() * 2;
  for (size_t i = 0; i < l.size(); ++i) log_det = log_det + l[i][i].log() * 2;
  return log_det;
}

Tensor LowRankGaussianPosterior::log_prob(const Tensor& w) {
  const int64_t n = mu.numel();
  Shape flat(w.sizes().begin(), w.sizes().end() - mu.dim());
  flat.push_back(n);
  const Tensor r = (w - mu).reshape(flat);  // [..., n]
  const Tensor inverse_variance = diagonal_std().flatten().pow(-2);
  const Tensor scaled = r * inverse_variance;
  // (w - mu)^T (D + V V^T)^-1 (w - mu) = r^T D^-1 r - u^T C^-1 u with u = V^T D^-1 r and the
  // capacitance C = L L^T (Woodbury): u^T C^-1 u = |L^-1 u|^2.
  const auto l = cholesky_small(capacitance(factor, inverse_variance));
  const Tensor z = forward_solve(l, scaled.matmul(factor));
  const Tensor quadratic = (r * scaled).sum(-1) - (z * z).sum(-1);
  return (quadratic + log_det_covariance() + static_cast<double>(n) * 2 * kLogSqrt2Pi) * -0.5;
}

void LowRankGaussianPosterior::validate() const {
  NoGradGuard no_grad;
  const int64_t bad =
      logical_not(diagonal_std() > 0).sum().item<int64_t>() + isnan(factor).sum().item<int64_t>();
  BG_CHECK(bad == 0, "lowrank_gaussian posterior",
           "the diagonal std softplus(rho) must be positive and the factor finite, but ", bad,
           " elements are NaN or not positive");
}

}  // namespace bg::bayes
