#include <cmath>

#include "bg/bayes/prior.h"

namespace bg::bayes {

namespace {
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log(sqrt(2 pi))

// log N(w; mu, sigma^2)
Tensor gaussian_log_prob(const Tensor& w, const Tensor& mu, const Tensor& sigma) {
  const Tensor z = (w - mu) / sigma;
  return z * z * -0.5 - sigma.log() - kLogSqrt2Pi;
}
}  // namespace

double PriorArgument::number() const {
  BG_CHECK(is_number(), "PriorArgument", "the argument is a tensor (", describe(tensor_),
           "), not a number");
  return number_;
}

Tensor PriorArgument::like(const Tensor& like) const {
  if (!is_number()) return tensor_;
  if (!materialized_.defined() || materialized_.dtype() != like.dtype() ||
      materialized_.device() != like.device()) {
    materialized_ = full({}, number_, like.options());
  }
  return materialized_;
}

PriorArgument Prior::argument(const std::string& owner, const Args& args, const std::string& key,
                              double fallback, const Tensor& like) {
  if (!args.contains(key) || args.values().at(key).is_number()) {
    return PriorArgument(args.number(owner, key, fallback));
  }
  return PriorArgument(register_buffer(key, args.tensor(owner, key, fallback, like)));
}

void Prior::check_positive(const std::string& owner, const std::string& key,
                           const PriorArgument& argument) {
  bool positive;
  if (argument.is_number()) {
    positive = argument.number() > 0;  // false for NaN
  } else {
    NoGradGuard no_grad;
    positive = logical_not(argument.tensor() > 0).sum().item<int64_t>() == 0;
  }
  BG_CHECK(positive, owner, "the argument '", key, "' must be positive");
}

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
  mu = argument("gaussian prior", args, "mu", 0.0, like);
  sigma = argument("gaussian prior", args, "sigma", 1.0, like);
  check_positive("gaussian prior", "sigma", sigma);
}

Tensor GaussianPrior::log_prob(const Tensor& w) const {
  return gaussian_log_prob(w, mu.like(w), sigma.like(w));
}

ScaleMixturePrior::ScaleMixturePrior(const Tensor& like, const Args& args)
    : Prior("ScaleMixturePrior", "scale_mixture", args),
      pi(args.number("scale_mixture prior", "pi", 0.5)) {
  args.allow_only("scale_mixture prior", {"pi", "sigma1", "sigma2"});
  BG_CHECK(pi > 0.0 && pi < 1.0, "scale_mixture prior", "pi must lie in (0, 1), got ", pi);
  sigma1 = argument("scale_mixture prior", args, "sigma1", 1.0, like);
  sigma2 = argument("scale_mixture prior", args, "sigma2", std::exp(-6.0), like);
  check_positive("scale_mixture prior", "sigma1", sigma1);
  check_positive("scale_mixture prior", "sigma2", sigma2);
}

Tensor ScaleMixturePrior::log_prob(const Tensor& w) const {
  // log(pi N1 + (1 - pi) N2) = logsumexp(log pi + log N1, log(1 - pi) + log N2)
  const Tensor zero = zeros({}, w.options());
  const Tensor first = gaussian_log_prob(w, zero, sigma1.like(w)) + std::log(pi);
  const Tensor second = gaussian_log_prob(w, zero, sigma2.like(w)) + std::log1p(-pi);
  return stack({first, second}).logsumexp(0);
}

LaplacePrior::LaplacePrior(const Tensor& like, const Args& args)
    : Prior("LaplacePrior", "laplace", args) {
  args.allow_only("laplace prior", {"mu", "b"});
  mu = argument("laplace prior", args, "mu", 0.0, like);
  b = argument("laplace prior", args, "b", 1.0, like);
  check_positive("laplace prior", "b", b);
}

Tensor LaplacePrior::log_prob(const Tensor& w) const {
  const Tensor scale = b.like(w);
  return (w - mu.like(w)).abs() / -scale - (scale * 2).log();
}

}  // namespace bg::bayes
