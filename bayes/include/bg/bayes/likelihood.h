#pragma once
// Likelihoods p(y | f(x)): how a model's output explains a target. A likelihood gives the
// negative log-likelihood to train on (its forward: the mean over the batch, what elbo_loss
// takes), the log-likelihood per example (what predictive_log_likelihood averages over draws),
// and, for regression, the noise it assumes (what predict reports as the aleatoric spread).
//
//   bayes::GaussianLikelihood likelihood;                       // learns the noise's std
//   bg::optim::Adam optimizer({bnn->parameters(), likelihood->parameters()}, ...);
//   bg::Tensor loss = bayes::elbo_loss(likelihood(bnn(x), y), bnn, dataset_size);
//   bayes::Prediction p = bayes::predict(bnn, x_test, 100, *likelihood);  // epistemic + noise
//
// A model's output and target are [batch, ...]: log_prob sums over every dim but the batch dim.

#include "bg/bayes/predict.h"
#include "bg/core/api.h"
#include "bg/nn/holder.h"

BG_API_BEGIN

namespace bg::bayes {

class Likelihood : public nn::Module {
 public:
  using nn::Module::Module;
  /// log p(target | output) per example: [batch].
  virtual Tensor log_prob(const Tensor& output, const Tensor& target) = 0;
  /// What predict computes from the draws: regression (predictive_mean and noise_variance below)
  /// or classification (output holds logits).
  virtual Task task() const = 0;
  /// Regression: the predictive mean the output stands for (of the target's shape).
  virtual Tensor predictive_mean(const Tensor& output);
  /// Regression: the variance of the observation noise the output implies (the aleatoric part),
  /// of the target's shape.
  virtual Tensor noise_variance(const Tensor& output);
  /// The mean over the batch of -log p(target | output): the nll elbo_loss takes.
  Tensor forward(const Tensor& output, const Tensor& target);
};

/// y ~ N(f(x), sigma^2) with one noise level sigma for every example (homoscedastic), learned
/// through log_sigma (a parameter) unless `learn_noise` is false. The output has the target's
/// shape.
class GaussianLikelihoodImpl : public Likelihood {
 public:
  explicit GaussianLikelihoodImpl(double sigma = 1.0, bool learn_noise = true);
  Tensor log_prob(const Tensor& output, const Tensor& target) override;
  Task task() const override { return Task::Regression; }
  Tensor predictive_mean(const Tensor& output) override { return output; }
  Tensor noise_variance(const Tensor& output) override;
  /// exp(log_sigma).
  Tensor sigma() const { return log_sigma.exp(); }
  void pretty_print(std::ostream& out) const override;
  Tensor log_sigma;  ///< 0-d; a parameter when the noise is learned, a buffer otherwise
};
BG_MODULE(GaussianLikelihood);

/// y ~ N(mean(x), variance(x)) with a noise level per example (heteroscedastic): the model has two
/// heads, its output [..., 2] holding the mean and a raw variance, variance = softplus(raw) +
/// min_variance (softplus rather than exp keeps large raw values from overflowing). The target is
/// the output without its last dim.
class HeteroscedasticGaussianLikelihoodImpl : public Likelihood {
 public:
  explicit HeteroscedasticGaussianLikelihoodImpl(double min_variance = 1e-6);
  Tensor log_prob(const Tensor& output, const Tensor& target) override;
  Task task() const override { return Task::Regression; }
  Tensor predictive_mean(const Tensor& output) override;
  Tensor noise_variance(const Tensor& output) override;
  void pretty_print(std::ostream& out) const override;
  double min_variance;
};
BG_MODULE(HeteroscedasticGaussianLikelihood);

/// y ~ Categorical(softmax(logits)): the output holds logits [..., C], the target int64 class
/// indices [...].
class CategoricalLikelihoodImpl : public Likelihood {
 public:
  CategoricalLikelihoodImpl();
  Tensor log_prob(const Tensor& output, const Tensor& target) override;
  Task task() const override { return Task::Classification; }
};
BG_MODULE(CategoricalLikelihood);

/// predict with a likelihood holder (bayes::GaussianLikelihood, ...).
template <typename L>
Prediction predict(const nn::AnyModule& model, const Tensor& input, int64_t samples,
                   const nn::ModuleHolder<L>& likelihood) {
  return predict(model, input, samples, *likelihood);
}
/// predictive_log_likelihood with a likelihood holder.
template <typename L>
double predictive_log_likelihood(const nn::AnyModule& model, const Tensor& input,
                                 const Tensor& target, int64_t samples,
                                 const nn::ModuleHolder<L>& likelihood) {
  return predictive_log_likelihood(model, input, target, samples, *likelihood);
}

}  // namespace bg::bayes

BG_API_END
