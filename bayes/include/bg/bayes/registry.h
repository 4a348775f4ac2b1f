#pragma once
// Registries of posteriors, priors and closed-form KL divergences, by case-insensitive name.
// The built-in entries are there from the first use; users add their own from their code:
//
//   bg::bayes::register_prior("student_t", [](const bg::Tensor& like, const bg::bayes::Args& args)
//   {
//     return std::make_shared<StudentTPrior>(like, args);
//   });
//
// A (posterior, prior) pair without a registered closed form gets a Monte Carlo KL.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bg/bayes/args.h"
#include "bg/bayes/posterior.h"
#include "bg/bayes/prior.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::bayes {

/// Builds a posterior for the parameter `original` (its shape, dtype, device, and for some
/// posteriors its value).
using PosteriorFactory =
    std::function<std::shared_ptr<VariationalPosterior>(const Tensor& original, const Args&)>;
/// Builds a prior for a parameter shaped like `like`.
using PriorFactory = std::function<std::shared_ptr<Prior>(const Tensor& like, const Args&)>;
/// KL(q || p) in closed form, summed over the parameter's elements (a 0-d tensor).
using KLFunction = std::function<Tensor(VariationalPosterior& q, const Prior& p)>;

/// Registers a posterior under `name` (and optional aliases). Names are case-insensitive;
/// registering a taken name throws.
void register_posterior(const std::string& name, PosteriorFactory factory,
                        const std::vector<std::string>& aliases = {});
void register_prior(const std::string& name, PriorFactory factory,
                    const std::vector<std::string>& aliases = {});
/// Registers the closed-form KL of a (posterior, prior) pair, by their registered names.
void register_kl(const std::string& posterior, const std::string& prior, KLFunction kl);

/// Builds the posterior registered as `name`; throws listing the registered names if unknown.
std::shared_ptr<VariationalPosterior> make_posterior(const std::string& name,
                                                     const Tensor& original, const Args& args = {});
std::shared_ptr<Prior> make_prior(const std::string& name, const Tensor& like,
                                  const Args& args = {});
/// The closed-form KL of a pair, or null.
const KLFunction* find_kl(const std::string& posterior, const std::string& prior);

/// The canonical name a name or alias resolves to; throws listing the registered names if unknown.
std::string posterior_name(const std::string& name);
std::string prior_name(const std::string& name);
std::vector<std::string> registered_posteriors();
std::vector<std::string> registered_priors();

}  // namespace bg::bayes

BG_API_END
