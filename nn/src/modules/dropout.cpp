#include "bg/nn/modules/dropout.h"

#include "bg/nn/functional.h"
#include "python_repr.h"

namespace bg::nn {

DropoutBase::DropoutBase(const char* name, const DropoutOptions& options_)
    : Module(name), options(options_) {
  BG_CHECK(options.p() >= 0.0 && options.p() <= 1.0, name,
           "the dropout probability p must be in [0, 1], got ", options.p());
}

void DropoutBase::pretty_print(std::ostream& out) const {
  // PyTorch's repr, plus the Monte Carlo flag when it is set.
  out << type_name() << "(p=" << detail::python_float(options.p())
      << ", inplace=" << detail::python_bool(options.inplace());
  if (active_in_eval) out << ", active_in_eval=true";
  out << ")";
}

DropoutImpl::DropoutImpl(const DropoutOptions& options_) : DropoutBase("Dropout", options_) {}
Tensor DropoutImpl::forward(const Tensor& input) {
  return functional::dropout(input, options.p(), dropping(), options.inplace());
}

Dropout1dImpl::Dropout1dImpl(const Dropout1dOptions& options_)
    : DropoutBase("Dropout1d", options_) {}
Tensor Dropout1dImpl::forward(const Tensor& input) {
  return functional::dropout1d(input, options.p(), dropping(), options.inplace());
}

Dropout2dImpl::Dropout2dImpl(const Dropout2dOptions& options_)
    : DropoutBase("Dropout2d", options_) {}
Tensor Dropout2dImpl::forward(const Tensor& input) {
  return functional::dropout2d(input, options.p(), dropping(), options.inplace());
}

Dropout3dImpl::Dropout3dImpl(const Dropout3dOptions& options_)
    : DropoutBase("Dropout3d", options_) {}
Tensor Dropout3dImpl::forward(const Tensor& input) {
  return functional::dropout3d(input, options.p(), dropping(), options.inplace());
}

AlphaDropoutImpl::AlphaDropoutImpl(const AlphaDropoutOptions& options_)
    : DropoutBase("AlphaDropout", options_) {}
Tensor AlphaDropoutImpl::forward(const Tensor& input) {
  return functional::alpha_dropout(input, options.p(), dropping(), options.inplace());
}

FeatureAlphaDropoutImpl::FeatureAlphaDropoutImpl(const FeatureAlphaDropoutOptions& options_)
    : DropoutBase("FeatureAlphaDropout", options_) {}
Tensor FeatureAlphaDropoutImpl::forward(const Tensor& input) {
  return functional::feature_alpha_dropout(input, options.p(), dropping(), options.inplace());
}

}  // namespace bg::nn
