#include "bg/bayes/torchbayesian.h"

#include <map>
#include <set>
#include <sstream>

#include "bg/bayes/registry.h"
#include "bg/nn/serialize.h"

namespace bg::bayes::internal {

namespace {

constexpr const char* kDict = "reparametrizations.";
constexpr const char* kPosterior = ".variational_posterior.";

std::string joined(const std::vector<std::string>& names) {
  std::ostringstream out;
  for (size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
  return names.empty() ? std::string("none") : out.str();
}

}  // namespace

ImportedState read_torchbayesian(nn::Module& root, const std::filesystem::path& path,
                                 const BayesianOptions& options) {
  const std::string where = "load_torchbayesian: " + path.string();
  const TensorFile file = load_tensors(path);
  // A file of torchbayesian's BayesianModule has every key under "module."; one of its wrapped
  // model, none.
  bool prefixed = !file.tensors.empty();
  for (const auto& item : file.tensors) prefixed = prefixed && item.key().starts_with("module.");

  // 1. Rename: "module.<owner>.reparametrizations.<name>.variational_posterior.<leaf>" becomes
  // "module.<owner>.parametrizations.<name>.<leaf>", the posterior of the parameter
  // "<owner>.<name>".
  std::map<std::string, std::map<std::string, Tensor>> posteriors;  // parameter -> leaf -> value
  std::map<std::string, Tensor> plain;                              // key without "module."
  for (const auto& item : file.tensors) {
    const std::string key = prefixed ? item.key().substr(7) : item.key();
    const size_t at = key.find(kDict);
    if (at == std::string::npos || (at > 0 && key[at - 1] != '.')) {
      plain[key] = item.value();
      continue;
    }
    const std::string owner = key.substr(0, at);  // "" or "0."
    const std::string rest = key.substr(at + std::char_traits<char>::length(kDict));
    const size_t vp = rest.find(kPosterior);
    BG_CHECK(vp != std::string::npos, where, "the key '", item.key(),
             "' is not a torchbayesian posterior's (<owner>.reparametrizations.<name>"
             ".variational_posterior.<mu|rho>)");
    const std::string leaf = rest.substr(vp + std::char_traits<char>::length(kPosterior));
    BG_CHECK(leaf == "mu" || leaf == "rho", where, "the key '", item.key(), "' holds '", leaf,
             "': only Gaussian posteriors (mu, rho) can be imported");
    posteriors[owner + rest.substr(0, vp)][leaf] = item.value();
  }

  // 2. Check the file against the module before changing anything.
  const nn::OrderedDict<Tensor> parameters = root.named_parameters();
  std::vector<std::string> missing, unexpected, mismatched;
  auto check_shape = [&](const std::string& key, const Tensor& value, const Shape& expected) {
    if (value.sizes() != expected) {
      mismatched.push_back(key + " (the module needs " + shape_str(expected) + ", the file has " +
                           shape_str(value.sizes()) + ")");
    }
  };
  for (const auto& [name, leaves] : posteriors) {
    const Tensor* parameter = parameters.find(name);
    if (parameter == nullptr) {
      unexpected.push_back(name + " (a posterior)");
      continue;
    }
    for (const char* leaf : {"mu", "rho"}) {
      const auto it = leaves.find(leaf);
      if (it == leaves.end()) {
        missing.push_back(name + "." + leaf);
      } else {
        check_shape(name + "." + leaf, it->second, parameter->sizes());
      }
    }
  }
  const nn::OrderedDict<Tensor> state = root.state_dict();
  for (const auto& item : state) {
    if (posteriors.count(item.key())) continue;
    const auto it = plain.find(item.key());
    if (it == plain.end()) {
      missing.push_back(item.key());
    } else {
      check_shape(item.key(), it->second, item.value().sizes());
    }
  }
  for (const auto& [key, value] : plain) {
    if (!state.contains(key)) unexpected.push_back(key);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    throw Error(detail::concat(
        where, ": the file does not match the ", root.type_name(), ": missing [", joined(missing),
        "], unexpected [", joined(unexpected), "], mismatched shapes [", joined(mismatched), "]"));
  }

  // 3. The conversion: a Gaussian posterior where the file has one, deterministic elsewhere.
  ImportedState out{options, {}};
  for (const auto& item : parameters) {
    const std::string& name = item.key();
    BG_CHECK(name.find_first_of("*?") == std::string::npos, where, "the parameter name '", name,
             "' contains a glob character, so no conversion rule can name it alone");
    if (!posteriors.count(name)) {
      out.options.deterministic(name);
      continue;
    }
    out.options.rule(name, Rule().posterior("gaussian").deterministic(false));
    const size_t dot = name.rfind('.');
    const std::string prefix =
        dot == std::string::npos
            ? "module.parametrizations." + name
            : "module." + name.substr(0, dot) + ".parametrizations." + name.substr(dot + 1);
    // sigma = softplus(rho) must be positive: checked on a stand-alone posterior.
    auto q = make_posterior("gaussian", item.value());
    nn::OrderedDict<Tensor> values;
    values.insert("mu", posteriors[name]["mu"]);
    values.insert("rho", posteriors[name]["rho"]);
    try {
      q->load_state_dict(values);
      q->validate();
    } catch (const Error& e) {
      throw Error(detail::concat(where, ": the parameter '", name, "': ", e.what()));
    }
    out.state.insert(prefix + ".mu", posteriors[name]["mu"]);
    out.state.insert(prefix + ".rho", posteriors[name]["rho"]);
  }
  for (const auto& [key, value] : plain) out.state.insert("module." + key, value);
  return out;
}

}  // namespace bg::bayes::internal
