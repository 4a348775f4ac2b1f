#pragma once
// Priors p(w) over one parameter tensor. A prior is a module whose tensors are buffers, so it
// follows bnn->to(...) and is saved in checkpoints (tensor-valued priors included).

#include <string>

#include "bg/bayes/args.h"
#include "bg/core/api.h"
#include "bg/nn/module.h"

BG_API_BEGIN

namespace bg::bayes {

class Prior : public nn::Module {
 public:
  /// `type_name` is what printing shows ("GaussianPrior"), `registry_name` the name it is
  /// registered under ("gaussian"), `args` what it was built from.
  Prior(std::string type_name, std::string registry_name, Args args);
  /// log p(w), elementwise (w has the parameter's shape).
  virtual Tensor log_prob(const Tensor& w) const = 0;
  /// The name this type is registered under ("gaussian"): what checkpoints record.
  const std::string& registry_name() const { return registry_name_; }
  const Args& args() const { return args_; }
  void pretty_print(std::ostream& out) const override;

 private:
  std::string registry_name_;
  Args args_;
};

/// N(mu, sigma^2), mu and sigma numbers or tensors broadcastable to the parameter.
/// Arguments: mu (default 0), sigma (default 1).
class GaussianPrior : public Prior {
 public:
  GaussianPrior(const Tensor& like, const Args& args);
  Tensor log_prob(const Tensor& w) const override;
  Tensor mu, sigma;
};

/// pi N(0, sigma1^2) + (1 - pi) N(0, sigma2^2) (Blundell et al., 2015), evaluated in log space so
/// that weights far in the tails give a finite log-density instead of log(0).
/// Arguments: pi (default 0.5), sigma1 (default 1), sigma2 (default exp(-6)).
class ScaleMixturePrior : public Prior {
 public:
  ScaleMixturePrior(const Tensor& like, const Args& args);
  Tensor log_prob(const Tensor& w) const override;
  Tensor sigma1, sigma2;
  double pi;
};

/// Laplace(mu, b): density exp(-|w - mu| / b) / 2b. Arguments: mu (default 0), b (default 1).
class LaplacePrior : public Prior {
 public:
  LaplacePrior(const Tensor& like, const Args& args);
  Tensor log_prob(const Tensor& w) const override;
  Tensor mu, b;
};

}  // namespace bg::bayes

BG_API_END
