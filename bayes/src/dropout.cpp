#include "bg/bayes/dropout.h"

#include "bg/nn/functional.h"

namespace bg::bayes {

namespace {
void check_probability(const char* layer, double p) {
  BG_CHECK(p >= 0.0 && p <= 1.0, layer, "the dropout probability p must be in [0, 1], got ", p);
}
void print(std::ostream& out, const char* layer, const nn::DropoutOptions& options) {
  out << layer << "(p=" << options.p() << ", inplace=" << (options.inplace() ? "true" : "false")
      << ")";
}

// Sets the Monte Carlo flag of every nn dropout layer (Dropout, Dropout1d/2d/3d, AlphaDropout,
// FeatureAlphaDropout) in `module`; returns how many there are.
int64_t set_mc_dropout(nn::Module& module, bool active) {
  int64_t count = 0;
  module.apply([&](nn::Module& m) {
    if (auto* dropout = m.as<nn::DropoutBase>()) {
      dropout->active_in_eval = active;
      ++count;
    }
  });
  return count;
}
}  // namespace

BayesianDropoutImpl::BayesianDropoutImpl(const BayesianDropoutOptions& options_)
    : nn::Module("BayesianDropout"), options(options_) {
  check_probability("BayesianDropout", options.p());
}
Tensor BayesianDropoutImpl::forward(const Tensor& input) {
  return nn::functional::dropout(input, options.p(), /*training=*/true, options.inplace());
}
void BayesianDropoutImpl::pretty_print(std::ostream& out) const {
  print(out, "BayesianDropout", options);
}

BayesianDropout2dImpl::BayesianDropout2dImpl(const BayesianDropout2dOptions& options_)
    : nn::Module("BayesianDropout2d"), options(options_) {
  check_probability("BayesianDropout2d", options.p());
}
Tensor BayesianDropout2dImpl::forward(const Tensor& input) {
  return nn::functional::dropout2d(input, options.p(), /*training=*/true, options.inplace());
}
void BayesianDropout2dImpl::pretty_print(std::ostream& out) const {
  print(out, "BayesianDropout2d", options);
}

int64_t enable_mc_dropout(nn::Module& module) { return set_mc_dropout(module, true); }
int64_t disable_mc_dropout(nn::Module& module) { return set_mc_dropout(module, false); }

}  // namespace bg::bayes
