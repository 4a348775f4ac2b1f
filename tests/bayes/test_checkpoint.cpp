// Self-describing BNN checkpoints: bayes::save / bayes::load round trips and their errors.

#include <bg/bayes.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "bayes_test_util.h"
#include "test_util.h"

namespace nn = bg::nn;
using namespace bg;
using bayes::BayesianModule;
using bayes::BayesianOptions;
using bayes::Rule;
using bayes::SampleMode;

namespace {

// A file in the temporary directory, removed when the test ends.
struct TempFile {
  explicit TempFile(const std::string& name)
      : path(std::filesystem::temp_directory_path() /
             ("bg_test_checkpoint_" + std::to_string(getpid()) + "_" + name + ".safetensors")) {}
  ~TempFile() { std::filesystem::remove(path); }
  std::filesystem::path path;
};

nn::Sequential mlp(int64_t hidden = 4) {
  return nn::Sequential(nn::Linear(3, hidden), nn::ReLU(), nn::Linear(hidden, 2));
}

// Everything the conversion decided, as text: each posterior's and prior's name and arguments,
// the deterministic parameters and the mode.
std::string conversion_of(const bayes::BayesianModuleImpl& bnn) {
  std::string out = "mode " + std::to_string(static_cast<int>(bnn.mode()));
  for (const auto& item : bnn.posteriors()) {
    const bayes::VariationalPosterior& q = *item.value();
    out += "; " + item.key() + ": " + q.registry_name() + "(" + q.args().str() + ") ~ " +
           q.prior()->registry_name() + "(" + q.prior()->args().str() + "), " +
           bayes::estimator_name(q.estimator());
  }
  for (const std::string& name : bnn.deterministic_parameters()) out += "; deterministic " + name;
  return out;
}

// `loaded` is `saved` again: same conversion, same state bit for bit, in Mean mode the same
// predictions, and the same KL (the noise of a draw is not saved, so a Monte Carlo KL compares
// fresh draws from the same seed).
void check_round_trip(BayesianModule<>& saved, BayesianModule<>& loaded, const Tensor& input) {
  CHECK(conversion_of(*loaded) == conversion_of(*saved));
  bayes::test::check_same_state(*loaded, *saved);
  const SampleMode saved_mode = saved->mode();
  saved->set_mode(SampleMode::Mean);
  loaded->set_mode(SampleMode::Mean);
  CHECK(equal(loaded(input), saved(input)));
  manual_seed(99);
  const Tensor saved_kl = saved->kl_divergence({.mc_samples = 2});
  manual_seed(99);
  CHECK(equal(loaded->kl_divergence({.mc_samples = 2}), saved_kl));
  saved->set_mode(saved_mode);
  loaded->set_mode(saved_mode);
}

// A parameter's or buffer's value, copied.
std::map<std::string, Tensor> snapshot(const nn::Module& module) {
  std::map<std::string, Tensor> out;
  for (const auto& item : module.state_dict()) out[item.key()] = item.value().detach().clone();
  return out;
}

void check_unchanged(const nn::Module& module, const std::map<std::string, Tensor>& before) {
  const nn::OrderedDict<Tensor> state = module.state_dict();
  REQUIRE(state.size() == before.size());
  for (const auto& entry : before) {
    const auto& key = entry.first;  // not [key, value]: clang 14 cannot capture bindings
    const auto& value = entry.second;
    INFO(key);
    REQUIRE(state.contains(key));
    CHECK(equal(state[key], value));
  }
  CHECK_FALSE(nn::utils::is_parametrized(module));
}

// Rewrites the BNN description of the checkpoint at `path` with `edit`.
void edit_description(const std::filesystem::path& path,
                      const std::function<void(std::string&)>& edit) {
  TensorFile file = load_tensors(path);
  edit(file.metadata.at(bayes::kCheckpointKey));
  save_tensors(path, file.tensors, file.metadata);
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
}

// A prior that takes its width as the argument "width" but keeps it in the buffer "sigma": a
// checkpoint could not tell where the argument is.
class RenamedPrior : public bayes::Prior {
 public:
  RenamedPrior(const Tensor& like, const bayes::Args& args)
      : Prior("RenamedPrior", "test_renamed", args) {
    sigma = register_buffer("sigma", args.tensor("test_renamed prior", "width", 1.0, like));
  }
  Tensor log_prob(const Tensor& w) const override {
    return (w / sigma).pow(2) * -0.5 - sigma.log();
  }
  Tensor sigma;
};

// A Gaussian posterior that calls itself by a name no one registered.
class UnnamedPosterior : public bayes::GaussianPosterior {
 public:
  UnnamedPosterior(const Tensor& original, const bayes::Args& args)
      : GaussianPosterior("UnnamedPosterior", "calls_itself_this", original, args, false) {}
};

// A module whose parameter name contains '*', which names may.
struct StarImpl : nn::Module {
  StarImpl() : Module("Star") { w = register_parameter("w*", ones({2})); }
  Tensor forward(const Tensor& x) { return x * w; }
  Tensor w;
};

void register_save_test_types() {
  static const bool registered = [] {
    bayes::register_prior("test_renamed", [](const Tensor& like, const bayes::Args& args) {
      return std::make_shared<RenamedPrior>(like, args);
    });
    bayes::register_posterior("test_unnamed_factory",
                              [](const Tensor& original, const bayes::Args& args) {
                                return std::make_shared<UnnamedPosterior>(original, args);
                              });
    return true;
  }();
  (void)registered;
}

}  // namespace

TEST_CASE("a BNN with rules, tensor priors and several families round-trips bit for bit") {
  bayes::test::register_test_types();
  TempFile file("rules");
  manual_seed(1);
  nn::Sequential net(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 4), nn::ReLU(), nn::Linear(4, 2));
  const Tensor prior_sigma = rand({4, 3}) + 0.5;  // one sigma per weight of the first layer
  BayesianOptions options;
  options.posterior({"gaussian", {{"mu_std", 0.2}, {"rho", -4.0}}})
      .rule("0.weight", Rule().prior({"normal", {{"mu", 0.1}, {"sigma", prior_sigma}}}))
      .rule("*.bias", Rule().prior({"laplace", {{"b", 1.0 / 3}}}).estimator("flipout"))
      .rule("0.weight", Rule().estimator("local_reparameterization"))
      .rule("2.*",
            Rule().posterior({"pretrained_gaussian", {{"rho", -5.0}}}).prior("scale_mixture"))
      .rule("4.weight", Rule().prior({"T", {{"df", 4.5}, {"scale", full({1, 4}, 0.7)}}}))
      .rule("4.bias", Rule()
                          .posterior({"fixed_sigma", {{"sigma", 0.25}}})
                          .prior("gaussian")
                          .estimator("reparameterization"))
      .deterministic("2.bias")
      .mode(SampleMode::Frozen);
  BayesianModule bnn(net, options);
  // Move the state away from its initial values, as training does.
  {
    NoGradGuard no_grad;
    for (Tensor& p : bnn->parameters()) p.add_(randn_like(p) * 0.1);
  }
  bayes::save(bnn, file.path);

  manual_seed(2);  // a different initialization, which the load must overwrite
  nn::Sequential fresh(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 4), nn::ReLU(),
                       nn::Linear(4, 2));
  BayesianModule loaded = bayes::load(fresh, file.path);
  CHECK(loaded->mode() == SampleMode::Frozen);
  CHECK(loaded->deterministic_parameters() == std::vector<std::string>{"2.bias"});
  // The tensor-valued prior sigma comes back from the prior's buffer.
  const auto& prior =
      dynamic_cast<const bayes::GaussianPrior&>(*loaded->posteriors()["0.weight"]->prior());
  CHECK(equal(prior.sigma.tensor(), prior_sigma));
  check_round_trip(bnn, loaded, randn({5, 3}));
  // The wrapped module is the one passed in, and still runs as a BNN.
  CHECK(loaded->module().get() == fresh.ptr().get());
  loaded->set_mode(SampleMode::Sample);
  CHECK_FALSE(equal(loaded(ones({1, 3})), loaded(ones({1, 3}))));
}

TEST_CASE("numbers, flags and strings in the arguments round-trip exactly") {
  // 1/3 and 0.1 need 17 significant digits; the description stores the shortest exact decimal.
  TempFile file("numbers");
  manual_seed(3);
  nn::Linear linear(2, 2);
  linear->to(kFloat64);
  BayesianModule bnn(
      linear, BayesianOptions()
                  .posterior({"gaussian", {{"mu_std", 1.0 / 3}, {"rho", -2.9999999999999996}}})
                  .prior({"scale_mixture", {{"pi", 0.1}, {"sigma1", 1e-30}, {"sigma2", 7.0}}}));
  bayes::save(bnn, file.path);
  const std::string description = load_tensors(file.path).metadata.at(bayes::kCheckpointKey);
  CHECK(description.find("[\"number\",\"0.3333333333333333\"]") != std::string::npos);
  CHECK(description.find("[\"number\",\"1e-30\"]") != std::string::npos);
  nn::Linear fresh(2, 2);
  fresh->to(kFloat64);
  BayesianModule loaded = bayes::load(fresh, file.path);
  const bayes::Args& args = loaded->posteriors()["weight"]->args();
  CHECK(args.number("test", "mu_std", 0) == 1.0 / 3);
  CHECK(args.number("test", "rho", 0) == -2.9999999999999996);
  CHECK(loaded->posteriors()["bias"]->prior()->args().number("test", "sigma1", 0) == 1e-30);
  check_round_trip(bnn, loaded, randn({3, 2}, kFloat64));

  // Flags and strings: encoded by kind, decoded to the same kind (the registry is not involved).
  edit_description(file.path, [](std::string& text) {
    replace_once(text, "[\"number\",\"0.1\"]", "[\"flag\",\"true\"]");
    replace_once(text, "[\"number\",\"7\"]", "[\"string\",\"wide\"]");
  });
  // scale_mixture rejects a flag for pi, naming the argument: the decoded kinds reached it.
  nn::Linear another(2, 2);
  test::check_error(
      {"bayes::load", "'weight'", "scale_mixture prior", "'pi' must be a number, got a flag"},
      [&] { bayes::load(another, file.path); });
}

TEST_CASE("a conv + batch-norm model round-trips with its running statistics") {
  TempFile file("conv");
  auto build = [] {
    return nn::Sequential(nn::Conv2d(1, 2, 3), nn::BatchNorm2d(2), nn::ReLU(), nn::MaxPool2d(2),
                          nn::Flatten(), nn::Linear(2 * 3 * 3, 3));
  };
  manual_seed(4);
  nn::Sequential net = build();
  BayesianModule bnn(net, BayesianOptions().deterministic("1.*"));
  bnn(randn({4, 1, 8, 8}));  // training mode: updates the running statistics
  const Tensor running_mean = net[1]->named_buffers()["running_mean"].clone();
  CHECK_FALSE(equal(running_mean, zeros({2})));
  bayes::save(bnn, file.path);

  manual_seed(5);
  nn::Sequential fresh = build();
  BayesianModule loaded = bayes::load(fresh, file.path);
  CHECK(equal(fresh[1]->named_buffers()["running_mean"], running_mean));
  bnn->eval();
  loaded->eval();
  check_round_trip(bnn, loaded, randn({2, 1, 8, 8}));
}

TEST_CASE("a float64 user-defined module round-trips, and to_deterministic works after loading") {
  TempFile file("twice");
  manual_seed(6);
  auto net = std::make_shared<bayes::test::TwiceImpl>(3, 3);
  net->to(kFloat64);
  BayesianModule bnn(net, BayesianOptions().mode(SampleMode::Mean));
  bayes::save(bnn, file.path, {{"epoch", "12"}});
  CHECK(load_tensors(file.path).metadata.at("epoch") == "12");
  CHECK(load_tensors(file.path).tensors["module.parametrizations.weight.mu"].dtype() == kFloat64);

  auto fresh = std::make_shared<bayes::test::TwiceImpl>(3, 3);
  fresh->to(kFloat64);
  BayesianModule loaded = bayes::load(fresh, file.path);
  const Tensor input = randn({2, 3}, kFloat64);
  check_round_trip(bnn, loaded, input);

  const Tensor mu = bayes::test::gaussian_of(*loaded, "weight").mu.detach().clone();
  const Tensor mean_prediction = loaded(input);
  std::shared_ptr<nn::Module> plain = loaded->to_deterministic();
  CHECK(plain.get() == fresh.get());
  CHECK(equal(fresh->weight, mu));
  CHECK(fresh->named_parameters().keys() == std::vector<std::string>{"weight", "bias"});
  CHECK(equal(fresh->forward(input), mean_prediction));
}

TEST_CASE("saving rejects the reserved key, unregistered names and unrestorable tensor arguments") {
  register_save_test_types();
  TempFile file("bad_save");
  nn::Linear linear(2, 2);
  BayesianModule bnn(linear);
  test::check_error({"bayes::save", bayes::kCheckpointKey, "reserved"}, [&] {
    bayes::save(bnn, file.path, {{bayes::kCheckpointKey, "x"}});
  });

  nn::Linear renamed(2, 2);
  BayesianModule with_renamed(
      renamed, BayesianOptions().prior({"test_renamed", {{"width", full({1}, 2.0)}}}));
  test::check_error({"bayes::save", "the prior 'test_renamed'", "tensor argument 'width'",
                     "no buffer 'width' (module.parametrizations.weight.prior.width)"},
                    [&] { bayes::save(with_renamed, file.path); });

  nn::Linear unnamed(2, 2);
  BayesianModule with_unnamed(unnamed, BayesianOptions().posterior("test_unnamed_factory"));
  test::check_error({"bayes::save", "'weight'", "'calls_itself_this'", "not registered"},
                    [&] { bayes::save(with_unnamed, file.path); });
  CHECK_FALSE(std::filesystem::exists(file.path));
}

TEST_CASE("a parameter whose name holds a glob character cannot be restored by name") {
  TempFile file("glob");
  auto net = std::make_shared<StarImpl>();
  BayesianModule bnn(net);
  bayes::save(bnn, file.path);
  test::check_error({"bayes::load", "'w*'", "glob character"},
                    [&] { bayes::load(std::make_shared<StarImpl>(), file.path); });
}

TEST_CASE("loading names what is wrong and leaves the module as it was") {
  bayes::test::register_test_types();
  TempFile file("errors");
  manual_seed(7);
  nn::Sequential net = mlp();
  BayesianModule bnn(net,
                     BayesianOptions().rule("2.weight", Rule().prior({"student_t", {{"df", 5}}})));
  bayes::save(bnn, file.path);

  SUBCASE("a different width: the mismatched tensors and shapes") {
    nn::Sequential wider = mlp(5);
    const auto before = snapshot(*wider);
    test::check_error(
        {"bayes::load", file.path.string(), "saved architecture",
         "module.0.parametrizations.weight.mu (the module needs [5, 3], the file has [4, 3])"},
        [&] { bayes::load(wider, file.path); });
    check_unchanged(*wider, before);
  }
  SUBCASE("different layers: the parameters on each side") {
    nn::Sequential deeper(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2), nn::Linear(2, 2));
    const auto before = snapshot(*deeper);
    test::check_error(
        {"bayes::load", "saved architecture", "not in the checkpoint [3.weight, 3.bias]"},
        [&] { bayes::load(deeper, file.path); });
    check_unchanged(*deeper, before);
  }
  SUBCASE("a plain checkpoint is not a BNN checkpoint") {
    TempFile plain("plain");
    nn::Sequential other = mlp();
    save(other, plain.path);
    test::check_error(
        {"bayes::load", plain.path.string(), "not a BNN checkpoint", bayes::kCheckpointKey},
        [&] { bayes::load(other, plain.path); });
  }
  SUBCASE("a posterior or prior this program has not registered") {
    edit_description(file.path, [](std::string& text) {
      replace_once(text, "\"name\":\"student_t\"", "\"name\":\"horseshoe\"");
    });
    nn::Sequential fresh = mlp();
    const auto before = snapshot(*fresh);
    test::check_error(
        {"bayes::load", "'2.weight'", "the prior 'horseshoe'", "bayes::register_prior",
         "registered: ", "laplace", "scale_mixture", "student_t"},
        [&] { bayes::load(fresh, file.path); });
    check_unchanged(*fresh, before);
    edit_description(file.path, [](std::string& text) {
      replace_once(text, "\"name\":\"gaussian\",\"args\"", "\"name\":\"flipout\",\"args\"");
    });
    test::check_error({"bayes::load", "the posterior 'flipout'", "bayes::register_posterior",
                       "pretrained_gaussian"},
                      [&] { bayes::load(fresh, file.path); });
  }
  SUBCASE("a newer format version") {
    edit_description(
        file.path, [](std::string& text) { replace_once(text, "\"version\":2", "\"version\":3"); });
    nn::Sequential fresh = mlp();
    test::check_error({"bayes::load", "format version 3", "reads version 2"},
                      [&] { bayes::load(fresh, file.path); });
  }
  SUBCASE("an unknown mode") {
    edit_description(file.path, [](std::string& text) {
      replace_once(text, "\"mode\":\"sample\"", "\"mode\":\"greedy\"");
    });
    nn::Sequential fresh = mlp();
    test::check_error({"bayes::load", "malformed", "the mode 'greedy' is unknown"},
                      [&] { bayes::load(fresh, file.path); });
  }
  SUBCASE("malformed descriptions") {
    nn::Sequential fresh = mlp();
    edit_description(file.path, [](std::string& text) {
      replace_once(text, "\"mode\":\"sample\"", "\"mode\":7");
    });
    test::check_error({"bayes::load", "malformed", "mode is an integer"},
                      [&] { bayes::load(fresh, file.path); });
    edit_description(file.path, [](std::string& text) { text = "{\"format\": \"bayesgrad.bnn\""; });
    test::check_error({"bayes::load", "invalid JSON"}, [&] { bayes::load(fresh, file.path); });
  }
  SUBCASE("a NaN or non-positive scale in the file: the parameter is named") {
    TensorFile saved = load_tensors(file.path);
    {
      NoGradGuard no_grad;
      saved.tensors["module.2.parametrizations.bias.rho"].flatten()[1].fill_(std::nan(""));
    }
    save_tensors(file.path, saved.tensors, saved.metadata);
    nn::Sequential fresh = mlp();
    const auto before = snapshot(*fresh);
    test::check_error({"bayes::load", "the saved parameter '2.bias'", "sigma = softplus(rho)",
                       "NaN or not positive at 1 of 2 elements", "flat index 1"},
                      [&] { bayes::load(fresh, file.path); });
    check_unchanged(*fresh, before);
  }
  SUBCASE("a missing file") {
    nn::Sequential fresh = mlp();
    test::check_error({"missing_file.safetensors"},
                      [&] { bayes::load(fresh, "missing_file.safetensors"); });
  }
}
