#pragma once
// Variational posteriors q(w): the parametrizations a BayesianModule installs on each parameter.
//
// A posterior owns the variational parameters (for a Gaussian: mu and rho, sigma = softplus(rho))
// and the noise of the current draw (a non-persistent buffer "eps"). The parameter it replaces
// holds, depending on the sample mode, a fresh draw per sampling step, the posterior mean, or a
// frozen draw (Note [Parametrized tensors] and nn/parametrize.h explain when values are computed).

#include <memory>
#include <string>

#include "bg/bayes/args.h"
#include "bg/bayes/prior.h"
#include "bg/core/api.h"
#include "bg/nn/parametrize.h"

BG_API_BEGIN

namespace bg::bayes {

/// What a posterior's parameter holds.
enum class SampleMode {
  Sample,  ///< a new draw at every step of its sampling scope (every forward pass of its BNN)
  Mean,    ///< the posterior mean: deterministic prediction
  Frozen,  ///< one draw, kept until the BNN's resample() begins a new step
};

class VariationalPosterior : public nn::Parametrization {
 public:
  /// `type_name` is what printing shows ("GaussianPosterior"), `registry_name` the name it is
  /// registered under ("gaussian"), `args` what the posterior was built from.
  VariationalPosterior(std::string type_name, std::string registry_name, Args args);

  /// Draws new noise for the next samples.
  virtual void redraw() = 0;
  /// The draw for the current noise, differentiable with respect to the variational parameters
  /// (the reparameterization trick).
  virtual Tensor sample() = 0;
  /// An independent draw that leaves the current noise alone (Monte Carlo KL with fresh samples).
  virtual Tensor fresh_sample() = 0;
  virtual Tensor mean() = 0;
  /// log q(w), elementwise.
  virtual Tensor log_prob(const Tensor& w) = 0;
  /// Throws a bg::Error when the variational parameters describe no distribution (a NaN or
  /// non-positive scale). BayesianModule checks every posterior after conversion and bayes::load
  /// after loading; the default accepts anything.
  virtual void validate() const {}

  /// The draw of the current step of the sampling scope (one per step, whatever the number of
  /// reads), or the mean in Mean mode.
  Tensor compute() override;
  /// True unless in Mean mode: the value changes when the sampling scope begins a new step.
  bool is_stochastic() const override { return mode_ != SampleMode::Mean; }

  void set_mode(SampleMode mode);
  SampleMode mode() const { return mode_; }

  /// The name this type is registered under ("gaussian"): what checkpoints record.
  const std::string& registry_name() const { return registry_name_; }
  const Args& args() const { return args_; }
  /// The prior this posterior is compared with in the KL (set by BayesianModule).
  void set_prior(std::shared_ptr<Prior> prior);
  const std::shared_ptr<Prior>& prior() const { return prior_; }
  void pretty_print(std::ostream& out) const override;

 private:
  std::string registry_name_;
  Args args_;
  SampleMode mode_ = SampleMode::Sample;
  uint64_t step_ = 0;  // the step of the sampling scope the current noise belongs to
  bool has_noise_ = false;
  std::shared_ptr<Prior> prior_;
};

/// Mean-field Gaussian q(w) = N(mu, softplus(rho)^2), as torchbayesian's default.
/// Arguments: mu_std (initial mu ~ N(0, mu_std^2), default 0.1), rho (initial rho, default -3:
/// sigma = softplus(-3) ~ 0.049).
class GaussianPosterior : public VariationalPosterior {
 public:
  GaussianPosterior(const Tensor& original, const Args& args);
  void redraw() override;
  Tensor sample() override;
  Tensor fresh_sample() override;
  Tensor mean() override { return mu; }
  Tensor log_prob(const Tensor& w) override;
  /// Throws unless sigma = softplus(rho) is positive (not NaN) everywhere.
  void validate() const override;
  /// softplus(rho).
  Tensor sigma() const;

  Tensor mu, rho, eps;

 protected:
  GaussianPosterior(std::string type_name, std::string registry_name, const Tensor& original,
                    const Args& args, bool mu_from_original);
};

/// A Gaussian whose mu starts at the parameter's current value: for converting trained models.
/// Arguments: rho (default -3).
class PretrainedGaussianPosterior : public GaussianPosterior {
 public:
  PretrainedGaussianPosterior(const Tensor& original, const Args& args);
};

}  // namespace bg::bayes

BG_API_END
