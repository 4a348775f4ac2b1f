#include "bg/bayes/registry.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "bg/bayes/kl.h"

namespace bg::bayes {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Factories by canonical name, plus aliases pointing at canonical names.
template <typename Factory>
struct Table {
  const char* kind;
  std::map<std::string, Factory> factories;
  std::map<std::string, std::string> aliases;

  void add(const std::string& name, Factory factory, const std::vector<std::string>& more = {}) {
    // Every name is checked before any is added, so that a failed registration changes nothing.
    std::vector<std::string> names = {name};
    names.insert(names.end(), more.begin(), more.end());
    std::set<std::string> keys;
    for (const std::string& each : names) {
      BG_CHECK(!aliases.count(lower(each)) && keys.insert(lower(each)).second,
               std::string("register_") + kind, "the name '", each, "' is already registered");
    }
    const std::string key = lower(name);
    factories.emplace(key, std::move(factory));
    for (const std::string& each : names) aliases.emplace(lower(each), key);
  }

  std::string resolve(const std::string& name) const {
    const auto it = aliases.find(lower(name));
    if (it != aliases.end()) return it->second;
    std::ostringstream known;
    for (const auto& [alias, canonical] : aliases) known << (known.tellp() ? ", " : "") << alias;
    throw Error(detail::concat(kind, ": unknown name '", name, "'; registered: ", known.str()));
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, factory] : factories) out.push_back(name);
    return out;
  }
};

struct Registry {
  std::mutex mutex;
  Table<PosteriorFactory> posteriors{"posterior", {}, {}};
  Table<PriorFactory> priors{"prior", {}, {}};
  std::map<std::pair<std::string, std::string>, KLFunction> kls;
};

// The built-in entries are added here, explicitly, on first use (no static self-registration).
// The registry is never destroyed, so factories stay callable during static destruction.
Registry& registry() {
  static Registry* instance = [] {
    auto* r = new Registry();
    r->posteriors.add(
        "gaussian",
        [](const Tensor& t, const Args& a) { return std::make_shared<GaussianPosterior>(t, a); },
        {"normal"});
    r->posteriors.add("pretrained_gaussian",
                      [](const Tensor& t, const Args& a) {
                        return std::make_shared<PretrainedGaussianPosterior>(t, a);
                      },
                      {"pretrained_normal"});
    r->posteriors.add("lowrank_gaussian",
                      [](const Tensor& t, const Args& a) {
                        return std::make_shared<LowRankGaussianPosterior>(t, a);
                      },
                      {"low_rank_gaussian"});
    r->priors.add(
        "gaussian",
        [](const Tensor& t, const Args& a) { return std::make_shared<GaussianPrior>(t, a); },
        {"normal"});
    r->priors.add("scale_mixture", [](const Tensor& t, const Args& a) {
      return std::make_shared<ScaleMixturePrior>(t, a);
    });
    r->priors.add("laplace", [](const Tensor& t, const Args& a) {
      return std::make_shared<LaplacePrior>(t, a);
    });
    for (const char* posterior : {"gaussian", "pretrained_gaussian"}) {
      r->kls.emplace(std::pair{std::string(posterior), std::string("gaussian")},
                     kl_gaussian_gaussian);
      r->kls.emplace(std::pair{std::string(posterior), std::string("laplace")},
                     kl_gaussian_laplace);
    }
    r->kls.emplace(std::pair{std::string("lowrank_gaussian"), std::string("gaussian")},
                   kl_lowrank_gaussian);
    return r;
  }();
  return *instance;
}

}  // namespace

void register_posterior(const std::string& name, PosteriorFactory factory,
                        const std::vector<std::string>& aliases) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.posteriors.add(name, std::move(factory), aliases);
}

void register_prior(const std::string& name, PriorFactory factory,
                    const std::vector<std::string>& aliases) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.priors.add(name, std::move(factory), aliases);
}

void register_kl(const std::string& posterior, const std::string& prior, KLFunction kl) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const auto key = std::pair{r.posteriors.resolve(posterior), r.priors.resolve(prior)};
  BG_CHECK(!r.kls.count(key), "register_kl", "a KL for (", key.first, ", ", key.second,
           ") is already registered");
  r.kls.emplace(key, std::move(kl));
}

std::shared_ptr<VariationalPosterior> make_posterior(const std::string& name,
                                                     const Tensor& original, const Args& args) {
  Registry& r = registry();
  PosteriorFactory factory;
  {
    std::lock_guard lock(r.mutex);
    factory = r.posteriors.factories.at(r.posteriors.resolve(name));
  }
  std::shared_ptr<VariationalPosterior> posterior = factory(original, args);
  BG_CHECK(posterior != nullptr, "make_posterior", "the factory of '", name, "' returned null");
  return posterior;
}

std::shared_ptr<Prior> make_prior(const std::string& name, const Tensor& like, const Args& args) {
  Registry& r = registry();
  PriorFactory factory;
  {
    std::lock_guard lock(r.mutex);
    factory = r.priors.factories.at(r.priors.resolve(name));
  }
  std::shared_ptr<Prior> prior = factory(like, args);
  BG_CHECK(prior != nullptr, "make_prior", "the factory of '", name, "' returned null");
  return prior;
}

const KLFunction* find_kl(const std::string& posterior, const std::string& prior) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  const auto it = r.kls.find({r.posteriors.resolve(posterior), r.priors.resolve(prior)});
  return it == r.kls.end() ? nullptr : &it->second;
}

std::string posterior_name(const std::string& name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.posteriors.resolve(name);
}

std::string prior_name(const std::string& name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.priors.resolve(name);
}

std::vector<std::string> registered_posteriors() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.posteriors.names();
}

std::vector<std::string> registered_priors() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return r.priors.names();
}

}  // namespace bg::bayes
