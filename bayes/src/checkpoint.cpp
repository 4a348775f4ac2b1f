#include "bg/bayes/checkpoint.h"

#include <charconv>
#include <set>
#include <sstream>

#include "bg/bayes/registry.h"
#include "bg/nn/serialize.h"
#include "serialize/json.h"  // nn's private JSON reader and writer (bayes/CMakeLists.txt)

namespace bg::bayes {

namespace json = ::bg::detail::json;

namespace {

using json::Member;
using json::Value;
using Kind = json::Value::Kind;

constexpr const char* kFormat = "bayesgrad.bnn";

const char* mode_name(SampleMode mode) {
  switch (mode) {
    case SampleMode::Sample:
      return "sample";
    case SampleMode::Mean:
      return "mean";
    case SampleMode::Frozen:
      return "frozen";
  }
  return "sample";
}

std::string joined(const std::vector<std::string>& names) {
  std::ostringstream out;
  for (size_t i = 0; i < names.size(); ++i) out << (i ? ", " : "") << names[i];
  return names.empty() ? std::string("none") : out.str();
}

// Where the posterior of the parameter `name` keeps its state in the BNN's state_dict:
// "0.weight" -> "module.0.parametrizations.weight" (parametrize.h names the entries so, and the
// BayesianModule registers the wrapped module as "module").
std::string state_prefix(const std::string& name) {
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return "module.parametrizations." + name;
  return "module." + name.substr(0, dot) + ".parametrizations." + name.substr(dot + 1);
}

// ---- Writing ------------------------------------------------------------------------------------

// The number with the fewest digits that reads back as the same double.
std::string shortest(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// One posterior's or prior's registry name and arguments; a tensor argument is recorded as the key
// of the buffer of the same name under `prefix`, which must be in `state`.
Value describe_spec(const std::string& name, const Args& args, const std::string& prefix,
                    const nn::OrderedDict<Tensor>& state, const std::string& what) {
  std::vector<Member> encoded;
  for (const auto& [key, value] : args.values()) {
    Value pair;
    if (value.is_number()) {
      pair =
          Value::of_array({Value::of_string("number"), Value::of_string(shortest(value.number()))});
    } else if (value.is_flag()) {
      pair = Value::of_array(
          {Value::of_string("flag"), Value::of_string(value.flag() ? "true" : "false")});
    } else if (value.is_text()) {
      pair = Value::of_array({Value::of_string("string"), Value::of_string(value.text())});
    } else {
      const std::string buffer = prefix + "." + key;
      BG_CHECK(state.contains(buffer), "bayes::save", what, " '", name,
               "' was built from the tensor argument '", key, "' but keeps no buffer '", key, "' (",
               buffer, "), so a checkpoint could not restore it");
      pair = Value::of_array({Value::of_string("tensor"), Value::of_string(buffer)});
    }
    encoded.push_back({key, std::move(pair)});
  }
  return Value::of_object({{"name", Value::of_string(name)}, {"args", Value::of_object(encoded)}});
}

// load() rebuilds each posterior and prior from the name it calls itself, which `resolve`
// (posterior_name or prior_name) must know.
void check_registered(const std::string& parameter, const char* kind, const std::string& name,
                      std::string (*resolve)(const std::string&)) {
  try {
    resolve(name);
  } catch (const Error& e) {
    throw Error(detail::concat(
        "bayes::save: the ", kind, " of '", parameter, "' calls itself '", name,
        "', which is not registered, so bayes::load could not rebuild it (", e.what(), ")"));
  }
}

// ---- Reading ------------------------------------------------------------------------------------

// What a checkpoint says about the conversion.
struct Description {
  struct Bayesian {
    std::string name;
    Spec posterior, prior;
    std::string estimator;
  };
  SampleMode mode = SampleMode::Sample;
  std::vector<Bayesian> bayesian;
  std::vector<std::string> deterministic;
  std::set<std::string> names;  // every saved parameter, Bayesian or not
};

// Reads the conversion description, with messages naming the file and the faulty entry.
class Reader {
 public:
  Reader(const std::filesystem::path& path, const TensorFile& file)
      : path_(path.string()), file_(file) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(detail::concat("bayes::load: ", path_, ": ", what));
  }
  void malformed_unless(bool ok, const std::string& what) const {
    if (!ok) fail("the metadata '" + std::string(kCheckpointKey) + "' is malformed: " + what);
  }

  const Value& member(const Value& object, const char* key, Kind kind,
                      const std::string& where) const {
    const Value* value = object.kind == Kind::Object ? object.find(key) : nullptr;
    malformed_unless(value != nullptr, where + " has no '" + key + "'");
    malformed_unless(value->kind == kind, where + "." + key + " is " + value->kind_name());
    return *value;
  }

  const std::string& text(const Value& value, const std::string& where) const {
    malformed_unless(value.kind == Kind::String,
                     where + " is " + value.kind_name() + ", not a string");
    return value.string;
  }

  Args args(const Value& encoded, const std::string& where) const {
    Args out;
    for (const Member& item : encoded.object) {
      const std::string at = where + "." + item.key;
      const Value& pair = item.value;
      malformed_unless(pair.kind == Kind::Array && pair.array.size() == 2,
                       at + " must be a [kind, value] pair");
      const std::string& kind = text(pair.array[0], at + "[0]");
      const std::string& value = text(pair.array[1], at + "[1]");
      if (kind == "number") {
        double number = 0;
        const auto result = std::from_chars(value.data(), value.data() + value.size(), number);
        malformed_unless(result.ec == std::errc() && result.ptr == value.data() + value.size(),
                         at + " is not a number: '" + value + "'");
        out.set(item.key, number);
      } else if (kind == "flag") {
        malformed_unless(value == "true" || value == "false", at + " is not true or false");
        out.set(item.key, value == "true");
      } else if (kind == "string") {
        out.set(item.key, value);
      } else {
        malformed_unless(kind == "tensor", at + " has the unknown kind '" + kind + "'");
        const Tensor* tensor = file_.tensors.find(value);
        malformed_unless(tensor != nullptr,
                         at + " names the tensor '" + value + "', which is not in the file");
        out.set(item.key, *tensor);
      }
    }
    return out;
  }

  // A posterior's or prior's {"name", "args"}, its name checked against this program's registry.
  Spec spec(const Value& encoded, const std::string& where, bool posterior) const {
    const std::string& name = member(encoded, "name", Kind::String, where).string;
    try {
      if (posterior)
        posterior_name(name);
      else
        prior_name(name);
    } catch (const Error& e) {
      fail(detail::concat(where, " is the ", posterior ? "posterior" : "prior", " '", name,
                          "', which this program has not registered (call bayes::register_",
                          posterior ? "posterior" : "prior", " before loading): ", e.what()));
    }
    return Spec(name, args(member(encoded, "args", Kind::Object, where), where + ".args"));
  }

  // The JSON `encoded` under kCheckpointKey, checked entry by entry.
  Description description(const std::string& encoded) const {
    const std::string top = kCheckpointKey;
    const Value root =
        json::parse(encoded, "bayes::load: " + path_ + ": the metadata '" + top + "'");
    malformed_unless(root.kind == Kind::Object, std::string("it is ") + root.kind_name());
    malformed_unless(member(root, "format", Kind::String, top).string == kFormat,
                     std::string("its format is not '") + kFormat + "'");
    const int64_t version = member(root, "version", Kind::Integer, top).integer;
    if (version != kCheckpointVersion) {
      fail(detail::concat("the checkpoint has format version ", version,
                          "; this build reads version ", kCheckpointVersion));
    }
    Description out;
    const std::string& mode = member(root, "mode", Kind::String, top).string;
    const std::map<std::string, SampleMode> modes = {
        {"sample", SampleMode::Sample}, {"mean", SampleMode::Mean}, {"frozen", SampleMode::Frozen}};
    malformed_unless(modes.count(mode), "the mode '" + mode + "' is unknown");
    out.mode = modes.at(mode);
    const Value& bayesian = member(root, "bayesian", Kind::Array, top);
    for (size_t i = 0; i < bayesian.array.size(); ++i) {
      const Value& entry = bayesian.array[i];
      const std::string where = top + ".bayesian[" + std::to_string(i) + "]";
      const std::string& name = member(entry, "name", Kind::String, where).string;
      const std::string at = where + " ('" + name + "')";
      Spec posterior = spec(member(entry, "posterior", Kind::Object, at), at + ".posterior", true);
      Spec prior = spec(member(entry, "prior", Kind::Object, at), at + ".prior", false);
      const std::string& estimator = member(entry, "estimator", Kind::String, at).string;
      try {
        estimator_from_name(estimator);
      } catch (const Error& e) {
        malformed_unless(false, at + ".estimator: " + e.what());
      }
      out.bayesian.push_back({name, std::move(posterior), std::move(prior), estimator});
      malformed_unless(out.names.insert(name).second,
                       "the parameter '" + name + "' is listed twice");
    }
    const Value& deterministic = member(root, "deterministic", Kind::Array, top);
    for (size_t i = 0; i < deterministic.array.size(); ++i) {
      const std::string& name =
          text(deterministic.array[i], top + ".deterministic[" + std::to_string(i) + "]");
      out.deterministic.push_back(name);
      malformed_unless(out.names.insert(name).second,
                       "the parameter '" + name + "' is listed twice");
    }
    return out;
  }

 private:
  std::string path_;
  const TensorFile& file_;
};

}  // namespace

void save(const BayesianModuleImpl& bnn, const std::filesystem::path& path,
          const std::map<std::string, std::string>& metadata) {
  BG_CHECK(!metadata.count(kCheckpointKey), "bayes::save", "the metadata key '", kCheckpointKey,
           "' is reserved for the description of the BNN");
  const nn::OrderedDict<Tensor> state = bnn.state_dict();
  std::vector<Value> bayesian;
  for (const auto& item : bnn.posteriors()) {
    const VariationalPosterior& q = *item.value();
    const std::string prefix = state_prefix(item.key());
    check_registered(item.key(), "posterior", q.registry_name(), posterior_name);
    check_registered(item.key(), "prior", q.prior()->registry_name(), prior_name);
    bayesian.push_back(Value::of_object(
        {{"name", Value::of_string(item.key())},
         {"posterior", describe_spec(q.registry_name(), q.args(), prefix, state, "the posterior")},
         {"prior", describe_spec(q.prior()->registry_name(), q.prior()->args(), prefix + ".prior",
                                 state, "the prior")},
         {"estimator", Value::of_string(estimator_name(q.estimator()))}}));
  }
  std::vector<Value> deterministic;
  for (const std::string& name : bnn.deterministic_parameters()) {
    deterministic.push_back(Value::of_string(name));
  }
  std::map<std::string, std::string> all = metadata;
  all[kCheckpointKey] =
      json::write(Value::of_object({{"format", Value::of_string(kFormat)},
                                    {"version", Value::of_integer(kCheckpointVersion)},
                                    {"mode", Value::of_string(mode_name(bnn.mode()))},
                                    {"bayesian", Value::of_array(bayesian)},
                                    {"deterministic", Value::of_array(deterministic)}}));
  save_tensors(path, state, all);
}

namespace internal {

SavedConversion read_checkpoint(nn::Module& root, const std::filesystem::path& path) {
  TensorFile file = load_tensors(path);
  const Reader reader(path, file);
  const auto entry = file.metadata.find(kCheckpointKey);
  if (entry == file.metadata.end()) {
    reader.fail(detail::concat("not a BNN checkpoint: its metadata has no '", kCheckpointKey,
                               "' entry (bayes::save writes one; bg::save does not)"));
  }
  const Description saved = reader.description(entry->second);

  // The architecture: the same parameter names, then the state the BNN will have (keys and
  // shapes), computed with stand-alone posteriors so that a mismatch leaves the module untouched.
  const nn::OrderedDict<Tensor> parameters = root.named_parameters();
  std::vector<std::string> missing, unexpected;
  for (const std::string& name : saved.names) {
    if (!parameters.contains(name)) unexpected.push_back(name);
  }
  for (const auto& item : parameters) {
    if (!saved.names.count(item.key())) missing.push_back(item.key());
  }
  if (!missing.empty() || !unexpected.empty()) {
    reader.fail(detail::concat(
        "the module does not have the saved architecture: its parameters not in the checkpoint [",
        joined(missing), "], saved parameters the ", root.type_name(), " lacks [",
        joined(unexpected), "]"));
  }
  std::map<std::string, Shape> expected;
  for (const auto& item : root.state_dict()) {
    expected["module." + item.key()] = item.value().sizes();
  }
  // The conversion, as rules naming each parameter exactly.
  BayesianOptions options;
  options.mode(saved.mode);
  std::vector<std::pair<std::string, std::shared_ptr<VariationalPosterior>>> standalone;
  for (const std::string& name : saved.deterministic) options.deterministic(name);
  for (const Description::Bayesian& entry : saved.bayesian) {
    const std::string& name = entry.name;
    if (name.find_first_of("*?") != std::string::npos) {
      reader.fail("the parameter name '" + name +
                  "' contains a glob character, so no conversion rule can name it alone");
    }
    std::shared_ptr<VariationalPosterior> posterior;
    try {
      posterior = make_posterior(entry.posterior.name, parameters[name], entry.posterior.args);
      posterior->set_prior(make_prior(entry.prior.name, parameters[name], entry.prior.args));
    } catch (const Error& e) {
      reader.fail("the saved parameter '" + name + "': " + e.what());
    }
    expected.erase("module." + name);
    for (const auto& item : posterior->state_dict()) {
      expected[state_prefix(name) + "." + item.key()] = item.value().sizes();
    }
    options.rule(name,
                 Rule().posterior(entry.posterior).prior(entry.prior).estimator(entry.estimator));
    standalone.emplace_back(name, posterior);
  }
  std::vector<std::string> absent, extra, mismatched;
  for (const auto& [key, sizes] : expected) {
    const Tensor* tensor = file.tensors.find(key);
    if (tensor == nullptr) {
      absent.push_back(key);
    } else if (tensor->sizes() != sizes) {
      mismatched.push_back(key + " (the module needs " + shape_str(sizes) + ", the file has " +
                           shape_str(tensor->sizes()) + ")");
    }
  }
  for (const auto& item : file.tensors) {
    if (!expected.count(item.key())) extra.push_back(item.key());
  }
  if (!absent.empty() || !extra.empty() || !mismatched.empty()) {
    reader.fail(detail::concat("the module does not have the saved architecture: missing tensors [",
                               joined(absent), "], unexpected tensors [", joined(extra),
                               "], mismatched shapes [", joined(mismatched), "]"));
  }
  // The saved variational parameters must describe distributions (a NaN or non-positive scale
  // in the file is an error naming the parameter): checked on the stand-alone posteriors.
  for (const auto& [name, posterior] : standalone) {
    nn::OrderedDict<Tensor> state;
    for (const auto& item : posterior->state_dict()) {
      state.insert(item.key(), file.tensors[state_prefix(name) + "." + item.key()]);
    }
    try {
      posterior->load_state_dict(state);
      posterior->validate();
    } catch (const Error& e) {
      reader.fail("the saved parameter '" + name + "': " + e.what());
    }
  }

  return {std::move(options), std::move(file.tensors)};
}

}  // namespace internal
}  // namespace bg::bayes
