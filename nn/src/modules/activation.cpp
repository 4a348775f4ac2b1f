#include "bg/nn/modules/activation.h"

#include <cmath>

#include "bg/nn/functional.h"
#include "python_repr.h"

namespace bg::nn {

Tensor ReLUImpl::forward(const Tensor& input) { return functional::relu(input); }

LeakyReLUImpl::LeakyReLUImpl(const LeakyReLUOptions& options_)
    : Module("LeakyReLU"), options(options_) {}
Tensor LeakyReLUImpl::forward(const Tensor& input) {
  return functional::leaky_relu(input, options.negative_slope());
}
void LeakyReLUImpl::pretty_print(std::ostream& out) const {
  out << "LeakyReLU(negative_slope=" << detail::python_float(options.negative_slope()) << ")";
}

ELUImpl::ELUImpl(const ELUOptions& options_) : Module("ELU"), options(options_) {}
Tensor ELUImpl::forward(const Tensor& input) { return functional::elu(input, options.alpha()); }
void ELUImpl::pretty_print(std::ostream& out) const {
  out << "ELU(alpha=" << detail::python_float(options.alpha()) << ")";
}

GELUImpl::GELUImpl(const GELUOptions& options_) : Module("GELU"), options(options_) {
  BG_CHECK(options.approximate() == "none" || options.approximate() == "tanh", "GELU",
           "approximate must be 'none' or 'tanh', got '", options.approximate(), "'");
}
Tensor GELUImpl::forward(const Tensor& input) {
  return functional::gelu(input, options.approximate());
}
void GELUImpl::pretty_print(std::ostream& out) const {
  out << "GELU(approximate='" << options.approximate() << "')";
}

Tensor SiLUImpl::forward(const Tensor& input) { return functional::silu(input); }
Tensor TanhImpl::forward(const Tensor& input) { return functional::tanh(input); }
Tensor SigmoidImpl::forward(const Tensor& input) { return functional::sigmoid(input); }

SoftplusImpl::SoftplusImpl(const SoftplusOptions& options_)
    : Module("Softplus"), options(options_) {
  BG_CHECK(options.beta() > 0.0, "Softplus", "beta must be positive, got ", options.beta());
}
Tensor SoftplusImpl::forward(const Tensor& input) {
  return functional::softplus(input, options.beta(), options.threshold());
}
void SoftplusImpl::pretty_print(std::ostream& out) const {
  // PyTorch's defaults are the integers 1 and 20, which it prints without ".0".
  const auto number = [](double v) {
    return v == std::trunc(v) && std::abs(v) < 1e15 ? std::to_string(static_cast<int64_t>(v))
                                                    : detail::python_float(v);
  };
  out << "Softplus(beta=" << number(options.beta()) << ", threshold=" << number(options.threshold())
      << ")";
}

SoftmaxImpl::SoftmaxImpl(const SoftmaxOptions& options_) : Module("Softmax"), options(options_) {}
Tensor SoftmaxImpl::forward(const Tensor& input) {
  return functional::softmax(input, options.dim());
}
void SoftmaxImpl::pretty_print(std::ostream& out) const {
  out << "Softmax(dim=" << options.dim() << ")";
}

LogSoftmaxImpl::LogSoftmaxImpl(const LogSoftmaxOptions& options_)
    : Module("LogSoftmax"), options(options_) {}
Tensor LogSoftmaxImpl::forward(const Tensor& input) {
  return functional::log_softmax(input, options.dim());
}
void LogSoftmaxImpl::pretty_print(std::ostream& out) const {
  out << "LogSoftmax(dim=" << options.dim() << ")";
}

}  // namespace bg::nn
