#pragma once
// Helpers shared by the bayes test suites: user-defined posteriors, priors and modules, the way a
// user of the library writes and registers them.

#include <bg/bayes.h>
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <string>

#include "test_util.h"

namespace bg::bayes::test {

/// Student-t prior: log p(w) = lgamma((df+1)/2) - lgamma(df/2) - log(df pi)/2 - log(scale)
/// - (df+1)/2 log(1 + ((w - mu)/scale)^2 / df). Arguments: df (number, default 3), mu (number,
/// default 0), scale (number or tensor, default 1; a tensor is kept in the buffer "scale", so
/// checkpoints can restore it).
class StudentTPrior : public Prior {
 public:
  StudentTPrior(const Tensor& like, const Args& args)
      : Prior("StudentTPrior", "student_t", args),
        df(args.number("student_t prior", "df", 3.0)),
        mu(args.number("student_t prior", "mu", 0.0)) {
    args.allow_only("student_t prior", {"df", "mu", "scale"});
    BG_CHECK(df > 0, "student_t prior", "df must be positive, got ", df);
    scale = argument("student_t prior", args, "scale", 1.0, like);
  }
  Tensor log_prob(const Tensor& w) const override {
    const Tensor s = scale.like(w);
    const Tensor z = (w - mu) / s;
    const double constant =
        std::lgamma((df + 1) / 2) - std::lgamma(df / 2) - 0.5 * std::log(df * std::numbers::pi);
    return (z * z / df).log1p() * (-(df + 1) / 2) - s.log() + constant;
  }
  double df, mu;
  PriorArgument scale;
};

/// A Gaussian posterior with a fixed standard deviation: only mu is learned (mu starts at 0).
/// Arguments: sigma (number, default 0.1).
class FixedSigmaPosterior : public VariationalPosterior {
 public:
  FixedSigmaPosterior(const Tensor& original, const Args& args)
      : VariationalPosterior("FixedSigmaPosterior", "fixed_sigma", args),
        sigma(args.number("fixed_sigma posterior", "sigma", 0.1)) {
    args.allow_only("fixed_sigma posterior", {"sigma"});
    mu = register_parameter("mu", zeros_like(original));
  }
  // The safe way: the noise the base class hands out, read and never modified.
  Tensor sample(const Tensor& noise) override { return mu + noise * sigma; }
  Tensor mean() override { return mu; }
  Tensor log_prob(const Tensor& w) override {
    const Tensor z = (w - mu) / sigma;
    return z * z * -0.5 - std::log(sigma) - 0.5 * std::log(2 * std::numbers::pi);
  }
  double sigma;
  Tensor mu;
};

/// KL(N(mu, s^2) || N(m, t^2)) of a FixedSigmaPosterior against a GaussianPrior, summed over the
/// elements: the user's closed form.
inline Tensor kl_fixed_sigma_gaussian(VariationalPosterior& q, const Prior& p) {
  const auto& posterior = dynamic_cast<const FixedSigmaPosterior&>(q);
  const auto& prior = dynamic_cast<const GaussianPrior&>(p);
  const Tensor diff = posterior.mu - prior.mu.like(posterior.mu);
  const double s = posterior.sigma;
  const Tensor t = prior.sigma.like(posterior.mu);
  return ((t / s).log() + (diff * diff + s * s) / (t * t * 2) - 0.5).sum();
}

/// Registers "student_t" (alias "t"), "fixed_sigma" and the KL of (fixed_sigma, gaussian), once per
/// process (registering a name twice is an error).
inline void register_test_types() {
  static const bool registered = [] {
    register_prior("student_t",
                   [](const Tensor& like, const Args& args) {
                     return std::make_shared<StudentTPrior>(like, args);
                   },
                   {"t"});
    register_posterior("fixed_sigma", [](const Tensor& original, const Args& args) {
      return std::make_shared<FixedSigmaPosterior>(original, args);
    });
    register_kl("fixed_sigma", "gaussian", kl_fixed_sigma_gaussian);
    return true;
  }();
  (void)registered;
}

/// A user-defined module that reads its weight twice per forward pass: y = x W^T + (x W^T) W W^T
/// + b, so a forward pass with two different draws of W would be visible.
struct TwiceImpl : nn::Module {
  TwiceImpl(int64_t in, int64_t out) : Module("Twice") {
    weight = register_parameter("weight", randn({out, in}) * 0.5);
    bias = register_parameter("bias", zeros({out}));
  }
  Tensor forward(const Tensor& x) {
    const Tensor first = x.matmul(weight.t());
    return first + first.matmul(weight).matmul(weight.t()) + bias;
  }
  Tensor weight, bias;
};
BG_MODULE(Twice);

/// The value a Gaussian posterior's parameter holds for the noise of the current step.
inline Tensor draw_of(GaussianPosterior& q) { return q.mu + softplus(q.rho) * q.noise(); }

/// The posterior of `name` as a GaussianPosterior.
inline GaussianPosterior& gaussian_of(BayesianModuleImpl& bnn, const std::string& name) {
  return dynamic_cast<GaussianPosterior&>(*bnn.posteriors()[name]);
}

/// Every tensor of `actual`'s state equals (bitwise, same dtype) the one of the same name in
/// `expected`, and both have the same names in the same order.
inline void check_same_state(const nn::Module& actual, const nn::Module& expected) {
  const nn::OrderedDict<Tensor> a = actual.state_dict(), e = expected.state_dict();
  REQUIRE(a.keys() == e.keys());
  for (const auto& item : e) {
    INFO("state tensor ", item.key());
    CHECK(equal(a[item.key()], item.value()));
  }
}

}  // namespace bg::bayes::test
