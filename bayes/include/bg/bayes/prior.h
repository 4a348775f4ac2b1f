#pragma once
// Priors p(w) over one parameter tensor. A prior is a module: its tensor-valued arguments are
// buffers, so they follow bnn->to(...) and checkpoints keep them; its number-valued arguments stay
// exact doubles (PriorArgument), so a prior built in float32 keeps sigma = 0.0025 exact after
// bnn->to(kFloat64) instead of the float32 rounding of 0.0025.

#include <string>

#include "bg/bayes/args.h"
#include "bg/core/api.h"
#include "bg/nn/module.h"

BG_API_BEGIN

namespace bg::bayes {

/// One argument of a prior: a number, kept as an exact double and made a 0-d tensor of the dtype
/// and device it is used with, or a tensor (a buffer of the prior, broadcastable to the parameter).
class PriorArgument {
 public:
  PriorArgument() = default;
  explicit PriorArgument(double number) : number_(number) {}
  explicit PriorArgument(Tensor tensor) : tensor_(std::move(tensor)) {}
  bool is_number() const { return !tensor_.defined(); }
  /// The number (for a tensor argument, an error).
  double number() const;
  /// The tensor (undefined for a number argument).
  const Tensor& tensor() const { return tensor_; }
  /// The value with the dtype and device of `like`: the tensor, or the number as a 0-d tensor
  /// (made once per dtype and device).
  Tensor like(const Tensor& like) const;

 private:
  double number_ = 0;
  Tensor tensor_;
  mutable Tensor materialized_;
};

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

 protected:
  /// The argument `key` of `args` (or `fallback`), a number or a tensor broadcastable to `like`;
  /// a tensor is registered as the buffer `key` (where checkpoints look for it). `owner` names the
  /// prior in errors.
  PriorArgument argument(const std::string& owner, const Args& args, const std::string& key,
                         double fallback, const Tensor& like);
  /// Throws unless every element of `argument` is positive (not NaN).
  static void check_positive(const std::string& owner, const std::string& key,
                             const PriorArgument& argument);

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
  PriorArgument mu, sigma;
};

/// pi N(0, sigma1^2) + (1 - pi) N(0, sigma2^2) (Blundell et al., 2015), evaluated in log space so
/// that weights far in the tails give a finite log-density instead of log(0).
/// Arguments: pi (default 0.5), sigma1 (default 1), sigma2 (default exp(-6)).
class ScaleMixturePrior : public Prior {
 public:
  ScaleMixturePrior(const Tensor& like, const Args& args);
  Tensor log_prob(const Tensor& w) const override;
  PriorArgument sigma1, sigma2;
  double pi;
};

/// Laplace(mu, b): density exp(-|w - mu| / b) / 2b. Arguments: mu (default 0), b (default 1).
class LaplacePrior : public Prior {
 public:
  LaplacePrior(const Tensor& like, const Args& args);
  Tensor log_prob(const Tensor& w) const override;
  PriorArgument mu, b;
};

}  // namespace bg::bayes

BG_API_END
