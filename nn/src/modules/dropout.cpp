#include "bg/nn/modules/dropout.h"

#include "bg/nn/functional.h"
#include "python_repr.h"

namespace bg::nn {

namespace {
void check_probability(const char* layer, double p) {
  BG_CHECK(p >= 0.0 && p <= 1.0, layer, "the dropout probability p must be in [0, 1], got ", p);
}
// PyTorch's repr, plus the Monte Carlo flag when it is set.
void print(std::ostream& out, const char* layer, const DropoutOptions& options,
           bool active_in_eval) {
  out << layer << "(p=" << detail::python_float(options.p())
      << ", inplace=" << detail::python_bool(options.inplace());
  if (active_in_eval) out << ", active_in_eval=true";
  out << ")";
}
}  // namespace

DropoutImpl::DropoutImpl(const DropoutOptions& options_) : Module("Dropout"), options(options_) {
  check_probability("Dropout", options.p());
}
Tensor DropoutImpl::forward(const Tensor& input) {
  return functional::dropout(input, options.p(), is_training() || active_in_eval,
                             options.inplace());
}
void DropoutImpl::pretty_print(std::ostream& out) const {
  print(out, "Dropout", options, active_in_eval);
}

Dropout2dImpl::Dropout2dImpl(const Dropout2dOptions& options_)
    : Module("Dropout2d"), options(options_) {
  check_probability("Dropout2d", options.p());
}
Tensor Dropout2dImpl::forward(const Tensor& input) {
  return functional::dropout2d(input, options.p(), is_training() || active_in_eval,
                               options.inplace());
}
void Dropout2dImpl::pretty_print(std::ostream& out) const {
  print(out, "Dropout2d", options, active_in_eval);
}

}  // namespace bg::nn
