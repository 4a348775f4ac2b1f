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

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
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
  /// How the gradient of the matched parameters is estimated in Sample mode, by name:
  /// "reparameterization" (the default), "local_reparameterization" or "flipout" (Estimator).
  Rule& estimator(std::string name) {
    estimator_ = std::move(name);
    return *this;
  }

  const std::optional<Spec>& posterior() const { return posterior_; }
  const std::optional<Spec>& prior() const { return prior_; }
  /// Whether the rule makes the parameters deterministic, if it says.
  const std::optional<bool>& is_deterministic() const { return deterministic_; }
  const std::optional<std::string>& estimator() const { return estimator_; }

 private:
  std::optional<Spec> posterior_, prior_;
  std::optional<bool> deterministic_;
  std::optional<std::string> estimator_;
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
  /// The estimator of every parameter, by name (default "reparameterization"; Rule::estimator).
  BayesianOptions& estimator(std::string name);
  /// What the parameters hold (default: a fresh draw at each forward pass).
  BayesianOptions& mode(SampleMode mode);

  const Spec& posterior() const { return posterior_; }
  const Spec& prior() const { return prior_; }
  const std::vector<std::pair<std::string, Rule>>& rules() const { return rules_; }
  const std::string& estimator() const { return estimator_; }
  SampleMode mode() const { return mode_; }

 private:
  Spec posterior_{"gaussian"};
  Spec prior_{"gaussian", {{"mu", 0.0}, {"sigma", 1.0}}};
  std::vector<std::pair<std::string, Rule>> rules_;
  std::string estimator_ = "reparameterization";
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

namespace internal {
/// Whether `M::forward` can be called with `Args` (what BayesianModule<M>'s call checks).
template <typename M, typename... Args>
    struct ForwardAccepts : std::bool_constant < requires(M& module, Args&&... args) {
  module.forward(std::forward<Args>(args)...);
} > {};
}  // namespace internal

template <typename M = void>
class BayesianModule;

class BayesianModuleImpl : public nn::Module {
 public:
  /// Converts `module` (a shared_ptr to any module) in place; the options are checked before
  /// anything changes. The holder BayesianModule(net, options) is the usual way to build one.
  template <typename M>
  explicit BayesianModuleImpl(std::shared_ptr<M> module, const BayesianOptions& options = {})
      : BayesianModuleImpl(std::shared_ptr<nn::Module>(module), tensor_forward(module.get()),
                           options) {
    static_assert(std::is_base_of_v<nn::Module, M>, "BayesianModule wraps an nn::Module");
  }

  /// Starts a new step of this BNN's sampling scope (in Sample mode) and runs the wrapped
  /// module's forward on one tensor (what containers holding a BNN call; the holder
  /// BayesianModule<M> calls a forward of any signature).
  Tensor forward(const Tensor& input);
  /// `samples` forward passes at once (vectorised Monte Carlo): begins one step that draws
  /// `samples` values of every Bayesian weight, runs the wrapped module once on the input repeated
  /// `samples` times along the batch dim, each linear or convolution evaluating its S draws in
  /// one batched product, and returns the outputs as [samples, batch, ...], differentiable (a
  /// multi-sample ELBO: mean over dim 0 of the per-draw losses). For a module whose forward takes
  /// one tensor [batch, ...] and returns one [batch, ...]; the module must read its Bayesian
  /// parameters through nn::functional's linear, conv1d, conv2d and conv_transpose2d only (the
  /// layers Linear, Conv1d, Conv2d, ConvTranspose2d do), else VectorizedReadError. Ops that mix
  /// examples (batch norm in training mode) see the samples' rows together.
  Tensor forward_samples(const Tensor& input, int64_t samples);

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
  template <typename>
  friend class BayesianModule;
  using TensorForward = std::function<Tensor(const Tensor&)>;
  BayesianModuleImpl(std::shared_ptr<nn::Module> module, TensorForward forward,
                     const BayesianOptions& options);
  // The one-tensor forward of an M, when it has one (else null: forward() then says so).
  template <typename M>
  static TensorForward tensor_forward(M* module) {
    if constexpr (requires(const Tensor& x) { Tensor(module->forward(x)); }) {
      return [module](const Tensor& x) { return Tensor(module->forward(x)); };
    } else {
      return nullptr;
    }
  }
  // What every forward pass does first: checks the BNN is usable, begins a step in Sample mode.
  nn::Module& begin_forward();
  // Starts a step and calls the wrapped module, an M, with `args`.
  template <typename M, typename... Args>
  decltype(auto) call(Args&&... args) {
    return static_cast<M&>(begin_forward()).forward(std::forward<Args>(args)...);
  }

  struct Converted {
    nn::Module* owner;  // the module that registered the parameter
    std::string local;  // its name there
    Tensor parameter;   // the handle the owner's code reads (now holding draws)
  };
  std::shared_ptr<nn::Module> module_;
  TensorForward tensor_forward_;
  nn::OrderedDict<std::shared_ptr<VariationalPosterior>> posteriors_;
  std::vector<Converted> converted_;  // in the order of posteriors_
  std::vector<std::string> deterministic_;
  SampleMode mode_;
  std::shared_ptr<nn::SamplingScope> scope_ = std::make_shared<nn::SamplingScope>();
};

/// The handle of a BayesianModuleImpl that does not know the wrapped module's type:
/// `bayes::BayesianModule<>`. Write it where a type must be named (a function parameter, a class
/// member); it calls the BNN on one tensor. Every BayesianModule<M> converts to it.
template <>
class BayesianModule<void> : public nn::ModuleHolder<BayesianModuleImpl> {
 public:
  using nn::ModuleHolder<BayesianModuleImpl>::ModuleHolder;
  /// Runs the BNN on one tensor (a fresh draw in Sample mode).
  Tensor operator()(const Tensor& input) const { return (*this)->forward(input); }
};

/// A BNN over a module of type M (LinearImpl, SequentialImpl, your own): the holder that
/// `bayes::BayesianModule bnn(net, options)` builds, its M deduced from `net`.
///
///   bayes::BayesianModule bnn(net);       // BayesianModule<nn::SequentialImpl>
///   bnn(x);                               // begins a step (a fresh draw), then net's forward
///   bayes::BayesianModule attention(mha); // forward(q, k, v, mask) -> std::tuple<...>
///   auto [out, weights] = attention(q, k, v, mask);
///
/// A call forwards any arguments to M::forward and returns what it returns, with one draw per
/// call: a recurrent module that reads its weights at every time step uses one weight sample for
/// the whole sequence (as Bayes by Backprop for RNNs does, Fortunato et al. 2017). Arguments that
/// M::forward does not take are a compile error (a static_assert naming M and the arguments).
///
/// `BayesianModule other = bnn;` (or `BayesianModule other(bnn)`) is a second handle to the same
/// BNN, as for every holder; converting a BNN again is an error: a compile error where its type is
/// known (`BayesianModule(bnn, options)`), a run-time error naming its posteriors otherwise.
template <typename M>
class BayesianModule : public BayesianModule<void> {
  static_assert(!std::is_base_of_v<BayesianModuleImpl, M>,
                "BayesianModule: the module is a BayesianModule already; converting it again "
                "would put a second posterior over each mu and rho. `BayesianModule other = bnn;` "
                "is a second handle to the same BNN");

 public:
  /// An empty holder, to be assigned later.
  BayesianModule(std::nullptr_t) : BayesianModule<void>(nullptr) {}  // NOLINT
  /// Converts the module `module` holds, in place.
  BayesianModule(const nn::ModuleHolder<M>& module, const BayesianOptions& options = {})
      : BayesianModule(module.ptr(), options) {}
  /// Converts `module` in place.
  BayesianModule(std::shared_ptr<M> module, const BayesianOptions& options = {})
      : BayesianModule<void>(std::make_shared<BayesianModuleImpl>(std::move(module), options)) {}

  /// Begins a step of the sampling scope (in Sample mode) and calls the wrapped module's forward
  /// with `args`, returning its result.
  template <typename... Args>
  decltype(auto) operator()(Args&&... args) const {
    if constexpr (internal::ForwardAccepts<M, Args&&...>::value) {
      return (*this)->template call<M>(std::forward<Args>(args)...);
    } else {
      static_assert(internal::ForwardAccepts<M, Args&&...>::value,
                    "BayesianModule: the wrapped module's forward cannot be called with these "
                    "arguments (see the module type M and the argument types Args above)");
    }
  }
};

template <typename Impl>
BayesianModule(const nn::ModuleHolder<Impl>&) -> BayesianModule<Impl>;
template <typename Impl>
BayesianModule(const nn::ModuleHolder<Impl>&, const BayesianOptions&) -> BayesianModule<Impl>;
template <typename M>
BayesianModule(std::shared_ptr<M>) -> BayesianModule<M>;
template <typename M>
BayesianModule(std::shared_ptr<M>, const BayesianOptions&) -> BayesianModule<M>;

}  // namespace bg::bayes

BG_API_END
