#pragma once
// Moving over from torchbayesian (Python): a safetensors file of a torchbayesian BayesianModule's
// state_dict loads into the equivalent BNN.
//
//   # Python, torchbayesian
//   bnn = torchbayesian.bnn.BayesianModule(net)            # net: the same architecture
//   safetensors.torch.save_file(bnn.state_dict(), "bnn.safetensors")
//
//   // C++
//   nn::Sequential net(nn::Linear(2, 3), nn::BatchNorm1d(3), nn::ReLU(), nn::Linear(3, 1));
//   bayes::BayesianModule bnn = bayes::load_torchbayesian(net, "bnn.safetensors");
//
// torchbayesian keeps the wrapped model as `module` and replaces each parameter `<owner>.<name>`
// by a posterior whose state is `module.<owner>.reparametrizations.<name>.variational_posterior.mu`
// and `.rho`, sigma = softplus(rho): the same parametrization as bayes' "gaussian" posterior, whose
// state is `module.<owner>.parametrizations.<name>.mu` and `.rho`. The import renames the keys,
// makes every parameter with a posterior in the file a "gaussian" posterior and every other one
// deterministic, and loads the values unchanged (buffers such as batch-norm running statistics
// too). torchbayesian does not save its prior: it comes from `options` (default N(0, 1), also
// torchbayesian's default), as do the estimator and the mode.

#include <filesystem>

#include "bg/bayes/bayesian_module.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::bayes {

namespace internal {
/// What load_torchbayesian converts and loads: the conversion as options, the renamed state.
struct ImportedState {
  BayesianOptions options;
  nn::OrderedDict<Tensor> state;
};
/// Reads a torchbayesian state_dict file and checks it against `module` (parameters, shapes,
/// sigmas) without changing it.
ImportedState read_torchbayesian(nn::Module& module, const std::filesystem::path& path,
                                 const BayesianOptions& options);
}  // namespace internal

/// The BNN a torchbayesian state_dict saved at `path` describes, around `module`, a freshly built
/// module of the same architecture (a holder or a shared_ptr). A file saved from torchbayesian's
/// wrapped model (`bnn.module.state_dict()`, keys without the leading `module.`) loads too. Throws
/// bg::Error, leaving the module as it was, for keys or shapes that do not match the module, a
/// variational parameter other than mu and rho, or a sigma that is NaN or not positive.
template <typename M>
BayesianModule<M> load_torchbayesian(std::shared_ptr<M> module, const std::filesystem::path& path,
                                     const BayesianOptions& options = {}) {
  BG_CHECK(module != nullptr, "load_torchbayesian", "no module was given");
  internal::ImportedState imported = internal::read_torchbayesian(*module, path, options);
  BayesianModule<M> bnn(std::move(module), imported.options);
  // The priors' tensor arguments come from the options, not from the file.
  for (const auto& item : bnn->state_dict()) {
    if (!imported.state.contains(item.key())) imported.state.insert(item.key(), item.value());
  }
  bnn->load_state_dict(imported.state);
  return bnn;
}
/// load_torchbayesian for a module holder (nn::Sequential, ...).
template <typename Impl>
BayesianModule<Impl> load_torchbayesian(const nn::ModuleHolder<Impl>& module,
                                        const std::filesystem::path& path,
                                        const BayesianOptions& options = {}) {
  return load_torchbayesian(module.ptr(), path, options);
}

}  // namespace bg::bayes

BG_API_END
