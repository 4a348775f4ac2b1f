#include "bg/bayes/bayesian_module.h"

#include <map>
#include <set>
#include <sstream>

#include "bg/bayes/registry.h"
#include "bg/core/tensor_impl.h"

namespace bg::bayes {

// ---- Options ------------------------------------------------------------------------------------

BayesianOptions& BayesianOptions::posterior(Spec spec) {
  posterior_ = std::move(spec);
  return *this;
}
BayesianOptions& BayesianOptions::prior(Spec spec) {
  prior_ = std::move(spec);
  return *this;
}
BayesianOptions& BayesianOptions::rule(std::string pattern, Rule rule) {
  rules_.emplace_back(std::move(pattern), std::move(rule));
  return *this;
}
BayesianOptions& BayesianOptions::deterministic(std::string pattern) {
  Rule deterministic;
  deterministic.deterministic();
  return rule(std::move(pattern), std::move(deterministic));
}
BayesianOptions& BayesianOptions::estimator(std::string name) {
  estimator_ = std::move(name);
  return *this;
}
BayesianOptions& BayesianOptions::mode(SampleMode mode) {
  mode_ = mode;
  return *this;
}

bool glob_match(const std::string& pattern, const std::string& name) {
  // Iterative matching with one backtrack point for the last '*' seen.
  size_t p = 0, n = 0, star = std::string::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// ---- Conversion ---------------------------------------------------------------------------------

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::ostringstream out;
  for (size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
  return out.str();
}

// The parameters that belong to a parametrization of `root` (a posterior's mu and rho, weight
// normalization's g and v), each with the tensor that parametrization computes:
// "0.parametrizations.weight.mu" -> "0.weight (GaussianPosterior)".
std::map<std::string, std::string> parametrization_parameters(nn::Module& root) {
  std::map<std::string, std::string> out;
  for (const auto& item : root.named_modules()) {
    const auto* parametrization = item.value()->as<nn::Parametrization>();
    if (parametrization == nullptr) continue;
    // The parametrization of "<owner>.weight" is the module "<owner>.parametrizations.weight".
    const std::string& path = item.key();
    const size_t dot = path.rfind('.');
    const std::string dict = dot == std::string::npos ? "" : path.substr(0, dot);
    const std::string tensor = path.substr(dot + 1);
    const std::string owner = dict.size() > 16 ? dict.substr(0, dict.size() - 17) : "";
    const std::string target =
        (owner.empty() ? "" : owner + ".") + tensor + " (" + parametrization->type_name() + ")";
    for (const auto& parameter : item.value()->named_parameters()) {
      out[path + "." + parameter.key()] = target;
    }
  }
  return out;
}

// What one parameter becomes.
struct Plan {
  std::string name;
  bool deterministic = false;
  Spec posterior{"gaussian"};
  Spec prior{"gaussian"};
  std::string estimator;
};

}  // namespace

BayesianModuleImpl::BayesianModuleImpl(std::shared_ptr<nn::Module> module, TensorForward forward,
                                       const BayesianOptions& options)
    : nn::Module("BayesianModule"),
      module_(std::move(module)),
      tensor_forward_(std::move(forward)),
      mode_(options.mode()) {
  BG_CHECK(module_ != nullptr, "BayesianModule", "no module was given");
  nn::Module& root = *module_;
  if (const auto* bnn = root.as<BayesianModuleImpl>()) {
    throw Error(detail::concat(
        "BayesianModule: the module is a BayesianModule already (posteriors of ",
        joined(bnn->posteriors().keys()),
        "); converting it again would put a second posterior over each mu and rho. Use it as "
        "it is (a copy of its holder, `bayes::BayesianModule other = bnn;`, is a second handle "
        "to the same BNN)"));
  }
  const nn::OrderedDict<Tensor> parameters = root.named_parameters();
  BG_CHECK(!parameters.empty(), "BayesianModule", "the ", root.type_name(),
           " has no parameters to make Bayesian");

  // 1. Decide every parameter's fate and check the options before changing anything.
  std::vector<Plan> plans;
  for (const auto& item : parameters) {
    plans.push_back({item.key(), false, options.posterior(), options.prior(), options.estimator()});
  }
  for (const auto& [pattern, rule] : options.rules()) {
    bool matched = false;
    for (Plan& plan : plans) {
      if (!glob_match(pattern, plan.name)) continue;
      matched = true;
      if (rule.is_deterministic()) plan.deterministic = *rule.is_deterministic();
      if (rule.posterior()) plan.posterior = *rule.posterior();
      if (rule.prior()) plan.prior = *rule.prior();
      if (rule.estimator()) plan.estimator = *rule.estimator();
    }
    BG_CHECK(matched, "BayesianModule", "the rule '", pattern,
             "' matches no parameter; the parameters are: ", joined(parameters.keys()));
  }
  // Parameters of parametrizations the module holds already (a child BNN's posteriors, a weight
  // norm) are not weights of the model: a posterior over them would be a second layer of
  // posteriors. They may stay deterministic (a rule says so), and are then trained as they are.
  const std::map<std::string, std::string> parametrized = parametrization_parameters(root);
  std::vector<std::string> offending;
  std::set<std::string> targets;
  for (const Plan& plan : plans) {
    const auto it = parametrized.find(plan.name);
    if (plan.deterministic || it == parametrized.end()) continue;
    offending.push_back(plan.name);
    targets.insert(it->second);
  }
  if (!offending.empty()) {
    throw Error(detail::concat(
        "BayesianModule: the ", root.type_name(), " holds parametrizations already (",
        joined(std::vector<std::string>(targets.begin(), targets.end())),
        "); making their parameters Bayesian (", joined(offending),
        ") would put a second layer of posteriors over them. Convert the plain model, or leave "
        "them deterministic with a rule, e.g. .deterministic(\"",
        offending.front().substr(0, offending.front().find("parametrizations.")),
        "parametrizations.*\")"));
  }
  struct Built {
    std::string name;
    std::shared_ptr<VariationalPosterior> posterior;
    Converted converted;
  };
  std::vector<Built> built;
  auto modules = root.named_modules();
  for (const Plan& plan : plans) {
    if (plan.deterministic) {
      deterministic_.push_back(plan.name);
      continue;
    }
    const Tensor& parameter = parameters[plan.name];
    const std::string context = "BayesianModule (parameter '" + plan.name + "')";
    BG_CHECK(parameter.is_floating_point(), context,
             "only floating-point parameters can be Bayesian, got ", describe(parameter),
             "; leave it deterministic with a rule");
    std::shared_ptr<VariationalPosterior> posterior;
    std::shared_ptr<Prior> prior;
    try {
      posterior = make_posterior(plan.posterior.name, parameter, plan.posterior.args);
      prior = make_prior(plan.prior.name, parameter, plan.prior.args);
      posterior->validate();
      posterior->set_estimator(estimator_from_name(plan.estimator));
    } catch (const Error& e) {
      throw Error(context + ": " + e.what());
    }
    posterior->set_parameter_name(plan.name);
    posterior->set_prior(prior);
    posterior->set_mode(mode_);
    posterior->set_sampling_scope(scope_);
    // "0.weight" is "weight" of the child "0"; "weight" belongs to the root.
    const size_t dot = plan.name.rfind('.');
    nn::Module* owner = modules[dot == std::string::npos ? "" : plan.name.substr(0, dot)].get();
    const std::string local = dot == std::string::npos ? plan.name : plan.name.substr(dot + 1);
    built.push_back({plan.name, posterior, {owner, local, parameter}});
  }

  // 2. Install the posteriors.
  for (Built& b : built) {
    nn::utils::register_parametrization(*b.converted.owner, b.converted.local, b.posterior);
    posteriors_.insert(b.name, b.posterior);
    converted_.push_back(b.converted);
  }
  register_module("module", module_);
}

// ---- Use ----------------------------------------------------------------------------------------

const std::shared_ptr<nn::Module>& BayesianModuleImpl::module() const {
  BG_CHECK(module_ != nullptr, "BayesianModule",
           "this BayesianModule was turned into a plain module by to_deterministic()");
  return module_;
}

nn::Module& BayesianModuleImpl::begin_forward() {
  nn::Module& wrapped = *module();  // checks it is still usable
  if (mode_ == SampleMode::Sample) scope_->begin_step();
  return wrapped;
}

Tensor BayesianModuleImpl::forward(const Tensor& input) {
  BG_CHECK(module() && tensor_forward_, "BayesianModule", "the wrapped ", module()->type_name(),
           "'s forward does not take one tensor; call the BNN through its typed holder, "
           "`bayes::BayesianModule bnn(net); bnn(arguments...)`");
  begin_forward();
  return tensor_forward_(input);
}

Tensor BayesianModuleImpl::forward_samples(const Tensor& input, int64_t samples) {
  BG_CHECK(samples >= 1, "forward_samples", "samples must be at least 1, got ", samples);
  BG_CHECK(module() && tensor_forward_, "forward_samples", "the wrapped ", module()->type_name(),
           "'s forward does not take one tensor");
  BG_CHECK(input.defined() && input.dim() >= 1, "forward_samples",
           "expected an input with a batch dim, got ", describe(input));
  const int64_t batch = input.size(0);
  Shape folded = input.sizes();
  folded[0] = samples * batch;
  Shape repeated = input.sizes();
  repeated.insert(repeated.begin(), samples);
  const Tensor stacked = input.unsqueeze(0).expand(repeated).reshape(folded);
  begin_forward();
  // The scope asks for S draws until the pass ends, even when it ends by an error.
  struct VectorizedPass {
    nn::SamplingScope& scope;
    ~VectorizedPass() { scope.set_samples(0); }
  } pass{*scope_};
  scope_->set_samples(samples);
  const Tensor out = tensor_forward_(stacked);
  BG_CHECK(out.dim() >= 1 && out.size(0) == samples * batch, "forward_samples", "the ",
           module()->type_name(), " returned ", describe(out), " for ", samples,
           " samples of a batch of ", batch, ": its output must keep the batch dim first");
  Shape unfolded = out.sizes();
  unfolded[0] = batch;
  unfolded.insert(unfolded.begin(), samples);
  return out.reshape(unfolded);
}

Tensor BayesianModuleImpl::kl_divergence(const KLOptions& options) {
  module();
  BG_CHECK(options.mc_samples >= 0, "kl_divergence", "mc_samples must be non-negative, got ",
           options.mc_samples);
  Tensor total;
  int64_t count = 0;
  for (size_t i = 0; i < converted_.size(); ++i) {
    VariationalPosterior& q = *posteriors_.items()[i].value();
    // Monte Carlo at the posterior's draw of the current step: the value the parameter holds, or
    // would hold under an estimator that never draws it (the local reparameterization).
    const Tensor kl = bayes::kl_divergence(q, Tensor(), {options.mc_samples, options.method});
    total = total.defined() ? total + kl : kl;
    count += converted_[i].parameter.impl()->numel();  // its size, without computing it
  }
  if (!total.defined()) return zeros({});
  return options.reduction == KLReduction::Mean ? total / static_cast<double>(count) : total;
}

void BayesianModuleImpl::set_mode(SampleMode mode) {
  mode_ = mode;
  for (auto& item : posteriors_) item.value()->set_mode(mode);
}

void BayesianModuleImpl::resample() { scope_->begin_step(); }

std::shared_ptr<nn::Module> BayesianModuleImpl::to_deterministic() {
  std::shared_ptr<nn::Module> plain = module();
  set_mode(SampleMode::Mean);
  for (Converted& c : converted_) nn::utils::remove_parametrization(*c.owner, c.local, true);
  children_.erase("module");
  posteriors_ = {};
  converted_.clear();
  module_ = nullptr;
  tensor_forward_ = nullptr;
  return plain;
}

void BayesianModuleImpl::pretty_print(std::ostream& out) const {
  out << "BayesianModule(posteriors=" << posteriors_.size()
      << ", deterministic=" << deterministic_.size() << ")";
}

}  // namespace bg::bayes
