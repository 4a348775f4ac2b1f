#include <cmath>

#include "bg/bayes/prior.h"

namespace bg::bayes {

namespace {
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))

// Checks that every element of `t` is positive.
void check_positive(const std::string& owner, const char* name, const Tensor& t) {
  NoGradGuard no_grad;
  BG_CHECK(logical_or(t <= 0, isnan(t)).sum().item<int64_t>() == 0, owner, "the argument '", name,
           "' must be positive");
}

// log N(w; mu, sigma^2)
Tensor gaussian_log_prob(const Tensor& w, const Tensor& mu, const Tensor& sigma) {
  const Tensor z = (w - mu) / sigma;
  return z * z * -0.5 - sigma.log() - kLogSqrt2Pi;
}
}  // namespace

Prior::Prior(std::string type_name, std::string registry_name, Args args)
    : nn::Module(std::move(type_name)),
      registry_name_(std::move(registry_name)),
      args_(std::move(args)) {}

void Prior::pretty_print(std::ostream& out) const {
  out << type_name() << "(" << args_.str() << ")";
}

GaussianPrior::GaussianPrior(const Tensor& like, const Args& args)
    : Prior("GaussianPrior", "gaussian", args) {
  args.allow_only("gaussian prior", {"mu", "sigma"});
  mu = register_buffer("mu", args.tensor("gaussian prior", "mu", 0.0, like));
  sigma = register_buffer("sigma", args.tensor("gaussian prior", "sigma", 1.0, like));
  check_positive("gaussian prior", "sigma", sigma);
}

Tensor GaussianPrior::log_prob(const Tensor& w) const { return gaussian_log_prob(w, mu, sigma); }

ScaleMixturePrior::ScaleMixturePrior(const Tensor& like, const Args& args)
    : Prior("ScaleMixturePrior", "scale_mixture", args),
      pi(args.number("scale_mixture prior", "pi", 0.5)) {
  args.allow_only("scale_mixture prior", {"pi", "sigma1", "sigma2"});
  BG_CHECK(pi > 0.0 && pi < 1.0, "scale_mixture prior", "pi must lie in (0, 1), got ", pi);
  sigma1 = register_buffer("sigma1", args.tensor("scale_mixture prior", "sigma1", 1.0, like));
  sigma2 =
      register_buffer("sigma2", args.tensor("scale_mixture prior", "sigma2", std::exp(-6.0), like));
  check_positive("scale_mixture prior", "sigma1", sigma1);
  check_positive("scale_mixture prior", "sigma2", sigma2);
}

Tensor ScaleMixturePrior::log_prob(const Tensor& w) const {
  // log(pi N1 + (1 - pi) N2) = logsumexp(log pi + log N1, log(1 - pi) + log N2)
  const Tensor zero = zeros({}, w.options());
  const Tensor first = gaussian_log_prob(w, zero, sigma1) + std::log(pi);
  const Tensor second = gaussian_log_prob(w, zero, sigma2) + std::log1p(-pi);
  return stack({first, second}).logsumexp(0);
}

LaplacePrior::LaplacePrior(const Tensor& like, const Args& args)
    : Prior("LaplacePrior", "laplace", args) {
  args.allow_only("laplace prior", {"mu", "b"});
  mu = register_buffer("mu", args.tensor("laplace prior", "mu", 0.0, like));
  b = register_buffer("b", args.tensor("laplace prior", "b", 1.0, like));
  check_positive("laplace prior", "b", b);
}

Tensor LaplacePrior::log_prob(const Tensor& w) const { return (w - mu).abs() / -b - (b * 2).log(); }

}  // namespace bg::bayes
