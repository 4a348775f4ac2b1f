#pragma once
// BayesianModule: any module -> a Bayesian neural network, in one line (Bayes by Backprop,
// Blundell et al. 2015).
//
//   nn::Sequential net(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 1));
//   bayes::BayesianModule bnn(net);      // every parameter of net is now a posterior
//   optim::Adam opt(bnn->parameters(), optim::AdamOptions(1e-2));
//   Tensor loss = nn::functional::mse_loss(bnn(x), y) + 0.1 * bnn->kl_divergence({.reduction =
//   ...});
//
// Each parameter of the wrapped module (built-in layers, norm layers, user-defined modules alike)
// is replaced by a variational posterior, installed as a parametrization (nn/parametrize.h): the
// module's code is unchanged and reads its weights as before, which now hold draws from the
// posteriors. bnn->parameters() are the variational parameters (mu and rho of each posterior).

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bg/bayes/args.h"
#include "bg/bayes/kl.h"
#include "bg/bayes/posterior.h"
#include "bg/core/api.h"
#include "bg/nn/holder.h"

BG_API_BEGIN

namespace bg::bayes {

/// A posterior or prior chosen by registry name, with its arguments.
struct Spec {
  Spec(const char* name, Args args = {}) : name(name), args(std::move(args)) {}  // NOLINT
  Spec(std::string name, Args args = {})
      : name(std::move(name)), args(std::move(args)) {}  // NOLINT
  std::string name;
  Args args;
};

/// Overrides for the parameters a pattern matches (BayesianOptions::rule). What a rule leaves unset
/// keeps the value of the options or of earlier rules.
class Rule {
 public:
  /// The posterior of the matched parameters.
  Rule& posterior(Spec spec) {
    posterior_ = std::move(spec);
    return *this;
  }
  /// The prior of the matched parameters.
  Rule& prior(Spec spec) {
    prior_ = std::move(spec);
    return *this;
  }
  /// Leaves the parameters deterministic (true) or makes them Bayesian again (false).
  Rule& deterministic(bool deterministic = true) {
    deterministic_ = deterministic;
    return *this;
  }

  const std::optional<Spec>& posterior() const { return posterior_; }
  const std::optional<Spec>& prior() const { return prior_; }
  /// Whether the rule makes the parameters deterministic, if it says.
  const std::optional<bool>& is_deterministic() const { return deterministic_; }

 private:
  std::optional<Spec> posterior_, prior_;
  std::optional<bool> deterministic_;
};

class BayesianOptions {
 public:
  /// The posterior of every parameter (default: "gaussian", mu ~ N(0, 0.1), rho = -3).
  BayesianOptions& posterior(Spec spec);
  /// The prior of every parameter (default: "gaussian", N(0, 1)).
  BayesianOptions& prior(Spec spec);
  /// Applies `rule` to the parameters whose dotted name matches `pattern` ('*' matches any run of
  /// characters, dots included; '?' one character). Rules apply in order, later ones overriding
  /// earlier ones; a pattern that matches nothing is an error.
  BayesianOptions& rule(std::string pattern, Rule rule);
  /// Shorthand for rule(pattern, Rule().deterministic()).
  BayesianOptions& deterministic(std::string pattern);
  /// What the parameters hold (default: a fresh draw at each forward pass).
  BayesianOptions& mode(SampleMode mode);

  const Spec& posterior() const { return posterior_; }
  const Spec& prior() const { return prior_; }
  const std::vector<std::pair<std::string, Rule>>& rules() const { return rules_; }
  SampleMode mode() const { return mode_; }

 private:
  Spec posterior_{"gaussian"};
  Spec prior_{"gaussian", {{"mu", 0.0}, {"sigma", 1.0}}};
  std::vector<std::pair<std::string, Rule>> rules_;
  SampleMode mode_ = SampleMode::Sample;
};

/// How kl_divergence() combines the elementwise divergences.
enum class KLReduction {
  Sum,   ///< the KL of the whole posterior (what the ELBO needs)
  Mean,  ///< divided by the number of Bayesian weights (torchbayesian's "mean")
};

struct KLOptions {
  KLReduction reduction = KLReduction::Sum;
  /// For Monte Carlo: 0 takes one sample per posterior, the draw of the last forward pass; n > 0
  /// the mean over n fresh draws. Pairs computed in closed form ignore it.
  int64_t mc_samples = 0;
  /// Auto (the default): the closed form where the (posterior, prior) pair has one registered
  /// (Gaussian-Gaussian, Gaussian-Laplace), Monte Carlo otherwise. MonteCarlo forces Monte Carlo
  /// for every pair; ClosedForm makes a pair without a closed form an error.
  KLMethod method = KLMethod::Auto;
};

/// True when `name` matches the glob `pattern` ('*' any run of characters, '?' one character).
bool glob_match(const std::string& pattern, const std::string& name);

class BayesianModuleImpl : public nn::Module {
 public:
  /// Converts `module` (a holder such as nn::Sequential, or a shared_ptr to a module whose forward
  /// maps a tensor to a tensor) in place; the options are checked before anything changes.
  BayesianModuleImpl(nn::AnyModule module, const BayesianOptions& options = {});

  /// Starts a new step of this BNN's sampling scope (in Sample mode) and runs the wrapped module.
  Tensor forward(const Tensor& input);

  /// The KL divergence between the posteriors and their priors.
  Tensor kl_divergence(const KLOptions& options = {});

  /// Sets what every posterior's parameter holds.
  void set_mode(SampleMode mode);
  SampleMode mode() const { return mode_; }
  /// Draws new weights now: begins a new step of the sampling scope (in Frozen mode, the way to
  /// change the frozen weights; in Sample mode they are used until the next forward pass).
  void resample();
  /// The sampling scope of this BNN's posteriors: its steps are this BNN's draws, independent of
  /// any other model's.
  const std::shared_ptr<nn::SamplingScope>& sampling_scope() const { return scope_; }

  /// The wrapped module, with its own API.
  const std::shared_ptr<nn::Module>& module() const;
  /// The wrapped module as a T (e.g. nn::SequentialImpl); throws if it is not one.
  template <typename T>
  std::shared_ptr<T> module_as() const {
    auto typed = std::dynamic_pointer_cast<T>(module());
    BG_CHECK(typed != nullptr, "BayesianModule", "the wrapped module is a ", module()->type_name(),
             ", not the requested type");
    return typed;
  }

  /// The posterior of each Bayesian parameter, by its dotted name in the wrapped module.
  const nn::OrderedDict<std::shared_ptr<VariationalPosterior>>& posteriors() const {
    return posteriors_;
  }
  /// Dotted names of the parameters left deterministic.
  const std::vector<std::string>& deterministic_parameters() const { return deterministic_; }

  /// Turns the wrapped module back into a plain one whose parameters hold the posterior means, and
  /// returns it. The BayesianModule cannot be used afterwards.
  std::shared_ptr<nn::Module> to_deterministic();

  void pretty_print(std::ostream& out) const override;

 private:
  struct Converted {
    nn::Module* owner;  // the module that registered the parameter
    std::string local;  // its name there
    Tensor parameter;   // the handle the owner's code reads (now holding draws)
  };
  nn::AnyModule module_;
  nn::OrderedDict<std::shared_ptr<VariationalPosterior>> posteriors_;
  std::vector<Converted> converted_;  // in the order of posteriors_
  std::vector<std::string> deterministic_;
  SampleMode mode_;
  std::shared_ptr<nn::SamplingScope> scope_ = std::make_shared<nn::SamplingScope>();
};
BG_MODULE(BayesianModule);

}  // namespace bg::bayes

BG_API_END
