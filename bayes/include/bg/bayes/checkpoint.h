#pragma once
// Self-describing BNN checkpoints: the state and the conversion that produced it, in one
// safetensors file (nn/serialize.h).
//
//   bayes::save(bnn, "bnn.safetensors");
//   ...
//   nn::Sequential net(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 1));   // same architecture
//   bayes::BayesianModule bnn = bayes::load(net, "bnn.safetensors");       // no options repeated
//
// The tensors are bnn->state_dict(): the variational parameters ("module.0.parametrizations.
// weight.mu", ".rho"), the priors' buffers (".prior.sigma": tensor-valued prior arguments; number
// arguments are in the description, exact), the deterministic parameters and the wrapped
// module's buffers (running statistics).
// The metadata entry kCheckpointKey holds JSON describing the conversion:
//
//   {"format": "bayesgrad.bnn", "version": 2, "mode": "sample",
//    "bayesian": [{"name": "0.weight",
//                  "posterior": {"name": "gaussian", "args": {"rho": ["number", "-3"]}},
//                  "prior": {"name": "gaussian", "args": {"sigma": ["tensor", "module.0.pa..."]}},
//                  "estimator": "flipout"},
//                 ...],
//    "deterministic": ["2.bias"]}
//
// Arguments are ["number", shortest round-trip decimal], ["flag", "true" | "false"],
// ["string", text] or ["tensor", key of the state tensor holding it]. A tensor argument is
// restored from the posterior's or prior's buffer of the same name, so a user-defined posterior or
// prior that takes a tensor argument must keep it in a buffer of that name (the built-in priors
// do); save() checks this.
//
// Not saved: the noise of the current draw (a Frozen BNN draws new weights after loading) and the
// random generator's state.

#include <filesystem>
#include <map>
#include <string>

#include "bg/bayes/bayesian_module.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::bayes {

/// The metadata key holding the conversion, and the format version save() writes. Version 1 kept
/// number-valued prior arguments as 0-d tensors in the state as well; version 2 keeps them in the
/// description only, so that they stay exact at any dtype.
inline constexpr const char* kCheckpointKey = "bayesgrad.bnn";
inline constexpr int64_t kCheckpointVersion = 2;

/// Writes bnn->state_dict() and the description of its conversion (posteriors, priors and their
/// arguments, deterministic parameters, sample mode) to `path`, with `metadata` beside it.
void save(const BayesianModuleImpl& bnn, const std::filesystem::path& path,
          const std::map<std::string, std::string>& metadata = {});
/// save() for a BayesianModule holder.
inline void save(const BayesianModule<>& bnn, const std::filesystem::path& path,
                 const std::map<std::string, std::string>& metadata = {}) {
  save(*bnn, path, metadata);
}

namespace internal {
/// What bayes::load rebuilds a BNN from: the saved conversion as options, and the saved state.
struct SavedConversion {
  BayesianOptions options;
  nn::OrderedDict<Tensor> state;
};
/// Reads the checkpoint at `path` and checks it against `module` (parameter names, shapes, valid
/// posteriors) without changing it.
SavedConversion read_checkpoint(nn::Module& module, const std::filesystem::path& path);
}  // namespace internal

/// Rebuilds the BNN saved at `path` around `module`, a freshly built module of the saved
/// architecture (a holder or a shared_ptr, as for BayesianModule), with the saved posteriors,
/// priors, deterministic parameters and mode, and loads the saved state strictly (values are
/// converted to the module's dtype: build it in the dtype you want). Throws bg::Error for a file
/// that is not a BNN checkpoint, a posterior or prior this program has not registered, a module
/// whose parameters or shapes differ from the saved ones, or a saved posterior whose sigma is NaN
/// or not positive; the module is then left as it was.
template <typename M>
BayesianModule<M> load(std::shared_ptr<M> module, const std::filesystem::path& path) {
  BG_CHECK(module != nullptr, "bayes::load", "no module was given");
  internal::SavedConversion saved = internal::read_checkpoint(*module, path);
  BayesianModule<M> bnn(std::move(module), saved.options);
  bnn->load_state_dict(saved.state);
  return bnn;
}
/// load() for a module holder (nn::Sequential, ...).
template <typename Impl>
BayesianModule<Impl> load(const nn::ModuleHolder<Impl>& module, const std::filesystem::path& path) {
  return load(module.ptr(), path);
}

}  // namespace bg::bayes

BG_API_END
