#pragma once
// Variational posteriors q(w): the parametrizations a BayesianModule installs on each parameter.
//
// A posterior owns the variational parameters (for a Gaussian: mu and rho, sigma = softplus(rho)).
// The parameter it replaces holds, depending on the sample mode, a fresh draw per step of its
// sampling scope, the posterior mean, or a frozen draw (Note [Parametrized tensors] and
// nn/parametrize.h explain when values are computed).
//
// Writing a posterior. A draw is a reparameterization: w = sample(noise), a differentiable
// function of the variational parameters and of noise that the base class draws (standard
// normals by default; draw_noise() and noise_shape() change that) once per step and hands out as a
// new tensor each time (the non-persistent buffer "eps" holds the current one). sample() must not
// modify its noise in place (no `noise.normal_()`): autograd saves the noise of every draw that a
// loss used, and a multi-sample loss (several forward passes, one backward) needs each of them
// unchanged. The base class checks this after every sample().

#include <memory>
#include <optional>
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

/// How the gradient of a Bayesian weight is estimated in Sample mode (selected per rule:
/// Rule().estimator("flipout")). All three are unbiased and leave the KL term unchanged; the last
/// two apply to weights and biases read by nn::functional's linear, conv1d, conv2d and
/// conv_transpose2d (so by Linear, Conv1d, Conv2d, ConvTranspose2d and user modules calling those
/// functions), and need a posterior of independent Gaussian weights.
enum class Estimator {
  /// "reparameterization": one draw w = sample(noise) per forward pass, shared by the batch.
  Reparameterization,
  /// "local_reparameterization" (Kingma, Salimans & Welling, 2015): the op's output, a sum of
  /// independent Gaussians, is drawn from N(op(x, mean), op(x^2, stddev^2)) independently for
  /// each example (and, for a convolution, each output position): the per-example gradients are
  /// independent, so their average has a lower variance. The weight itself is never drawn.
  LocalReparameterization,
  /// "flipout" (Wen et al., 2018): one perturbation stddev * noise per forward pass, multiplied by
  /// random signs per example and channel, so the examples see independent-looking perturbations
  /// of the same distribution.
  Flipout,
};

/// The estimator called `name` (case-insensitive); throws listing the names.
Estimator estimator_from_name(const std::string& name);
/// The name of an estimator ("flipout").
const char* estimator_name(Estimator estimator);

/// What a vectorised pass (BayesianModule::forward_samples) throws when the module reads a Bayesian
/// parameter other than through linear or a convolution: such code sees one tensor where S draws
/// are needed. bayes::predict catches it and evaluates the draws one by one instead.
class VectorizedReadError : public Error {
 public:
  using Error::Error;
};

/// A Gaussian with independent elements: what the local reparameterization and Flipout need.
struct IndependentGaussian {
  Tensor mean, stddev;  ///< of the parameter's shape, differentiable
};

class VariationalPosterior : public nn::Parametrization {
 public:
  /// `type_name` is what printing shows ("GaussianPosterior"), `registry_name` the name it is
  /// registered under ("gaussian"), `args` what the posterior was built from.
  VariationalPosterior(std::string type_name, std::string registry_name, Args args);

  /// The draw for `noise` (of noise_shape()), differentiable with respect to the variational
  /// parameters (the reparameterization trick). Reads `noise`; never modifies it. Noise with a
  /// leading dim of S draws ([S, noise_shape()], a vectorised pass) gives S draws [S, ...].
  virtual Tensor sample(const Tensor& noise) = 0;
  virtual Tensor mean() = 0;
  /// log q(w) for w of the parameter's shape (or S draws [S, ...]): elementwise for a posterior
  /// that factorizes over the elements, else one value per draw; the KL sums it either way.
  virtual Tensor log_prob(const Tensor& w) = 0;
  /// Throws a bg::Error when the variational parameters describe no distribution (a NaN or
  /// non-positive scale). BayesianModule checks every posterior after conversion and bayes::load
  /// after loading; the default accepts anything.
  virtual void validate() const {}
  /// The shape of the noise of one draw; by default the parameter's (mean()'s).
  virtual Shape noise_shape();
  /// New noise of `sizes`: by default independent standard normals of mean()'s dtype and device.
  /// Must return a new tensor at every call.
  virtual Tensor draw_noise(const Shape& sizes);
  /// For a posterior of independent Gaussian weights whose sample(noise) is mean + stddev * noise:
  /// its mean and standard deviation (the local reparameterization and Flipout need them). By
  /// default none: those estimators are then refused for it.
  virtual std::optional<IndependentGaussian> independent_gaussian() { return std::nullopt; }

  /// The noise of the current step of the sampling scope: drawn at its first use in the step, then
  /// the same values until the next step; in a vectorised pass (in Sample mode) the noise of its S
  /// draws at once, [S, noise_shape()]. Each handle keeps its step's noise.
  Tensor noise();
  /// sample(noise()): the draw of the current step (the S draws after a vectorised pass).
  Tensor current_sample();
  /// A draw independent of the current one, which it leaves alone (Monte Carlo KL with fresh
  /// draws).
  Tensor fresh_sample();

  /// The draw of the current step of the sampling scope (one per step, whatever the number of
  /// reads), or the mean in Mean mode.
  Tensor compute() override;
  /// True unless in Mean mode: the value changes when the sampling scope begins a new step.
  bool is_stochastic() const override { return mode_ != SampleMode::Mean; }

  void set_mode(SampleMode mode);
  SampleMode mode() const { return mode_; }
  /// The gradient estimator in Sample mode (BayesianModule sets it from the rules); anything but
  /// Reparameterization needs independent_gaussian().
  void set_estimator(Estimator estimator);
  Estimator estimator() const { return estimator_; }
  /// The dotted name of the parameter this posterior replaces, for error messages.
  void set_parameter_name(std::string name) { parameter_name_ = std::move(name); }
  const std::string& parameter_name() const { return parameter_name_; }

  /// In Sample mode with the local reparameterization or Flipout: the Gaussian, for linear and the
  /// convolutions to apply the estimator; else, in a vectorised pass, the S draws; otherwise the
  /// value.
  nn::OperandForm operand_form() override;
  /// Refuses a direct read (by any op but linear and the convolutions) in Sample mode of a weight
  /// whose estimator only those ops can apply, or during a vectorised pass (VectorizedReadError),
  /// naming the parameter.
  void check_direct_read() override;

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
  Estimator estimator_ = Estimator::Reparameterization;
  std::string parameter_name_;
  // sample(noise), checking that it left the noise alone.
  Tensor checked_sample(const Tensor& noise);
  // The noise of one draw: noise(), or its first draw after a vectorised pass.
  Tensor one_draw_noise();
  Tensor eps_;               // the buffer "eps": the current noise
  uint64_t step_ = 0;        // the step of the sampling scope eps_ belongs to (0: none yet)
  int64_t noise_draws_ = 0;  // S when eps_ holds the noise of a vectorised pass's S draws
  std::shared_ptr<Prior> prior_;
};

/// Mean-field Gaussian q(w) = N(mu, softplus(rho)^2), as torchbayesian's default.
/// Arguments: mu_std (initial mu ~ N(0, mu_std^2), default 0.1), rho (initial rho, a number or a
/// tensor broadcastable to the parameter, default -3: sigma = softplus(-3) ~ 0.049).
class GaussianPosterior : public VariationalPosterior {
 public:
  GaussianPosterior(const Tensor& original, const Args& args);
  /// mu + softplus(rho) * noise, in one fused kernel for one draw.
  Tensor sample(const Tensor& noise) override;
  Tensor mean() override { return mu; }
  Tensor log_prob(const Tensor& w) override;
  /// Throws unless sigma = softplus(rho) is positive (not NaN) everywhere.
  void validate() const override;
  /// mu and softplus(rho).
  std::optional<IndependentGaussian> independent_gaussian() override;
  /// softplus(rho).
  Tensor sigma() const;
  /// The last single draw sample() made (with its graph), or an undefined tensor: the closed-form
  /// KL to a Gaussian prior joins its backward pass to it (fused::gaussian_kl).
  const Tensor& last_draw() const { return last_draw_; }

  Tensor mu, rho;

 protected:
  GaussianPosterior(std::string type_name, std::string registry_name, const Tensor& original,
                    const Args& args, bool mu_from_original);

 private:
  Tensor last_draw_;
};

/// A Gaussian whose mu starts at the parameter's current value: for converting trained models.
/// Arguments: rho (a number or a tensor broadcastable to the parameter, default -3), or delta
/// instead (MOPED, Krishnan et al. 2020: sigma = delta |w| for each weight w, i.e. rho =
/// log(expm1(delta |w|) + 1e-20), so a weight of 0 gets sigma ~ 1e-20).
class PretrainedGaussianPosterior : public GaussianPosterior {
 public:
  PretrainedGaussianPosterior(const Tensor& original, const Args& args);
};

/// A Gaussian with a low-rank-plus-diagonal covariance over the parameter's n elements:
/// q(w) = N(mu, diag(d^2) + V V^T), d = softplus(rho), V [n, rank] (the parameter "factor"), so
/// that the weights are correlated along `rank` directions. A draw is mu + d * eps1 + V eps2 with
/// noise [n + rank] = (eps1, eps2). Its density and the KL to a Gaussian prior (registered in
/// closed form) use the Woodbury identity and the matrix determinant lemma through the
/// rank x rank capacitance I + V^T diag(d^-2) V, whose Cholesky factor is built from Tensor ops
/// (so costs ~rank^3 small ops: meant for a small rank). Not independent Gaussian weights: the
/// local reparameterization and Flipout do not apply.
/// Arguments: rank (default 2), mu_std (default 0.1), rho (default -3), factor_std (initial
/// V ~ N(0, factor_std^2), default 0.01).
class LowRankGaussianPosterior : public VariationalPosterior {
 public:
  LowRankGaussianPosterior(const Tensor& original, const Args& args);
  /// Noise of n + rank elements.
  Shape noise_shape() override;
  Tensor sample(const Tensor& noise) override;
  Tensor mean() override { return mu; }
  /// log q(w), one value per draw (the density does not factorize over elements): 0-d for w of
  /// the parameter's shape, [S] for S draws [S, ...].
  Tensor log_prob(const Tensor& w) override;
  void validate() const override;
  /// softplus(rho): the diagonal part's standard deviations.
  Tensor diagonal_std() const;
  /// log det(diag(d^2) + V V^T).
  Tensor log_det_covariance() const;
  int64_t rank() const { return factor.size(1); }

  Tensor mu, rho, factor;
};

}  // namespace bg::bayes

BG_API_END
