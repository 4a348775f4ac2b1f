#include "bg/nn/modules/linear.h"

#include <cmath>

#include "bg/nn/functional.h"
#include "bg/nn/init.h"
#include "python_repr.h"

namespace bg::nn {

LinearImpl::LinearImpl(const LinearOptions& options_) : Module("Linear"), options(options_) {
  BG_CHECK(options.in_features() > 0 && options.out_features() > 0, "Linear",
           "in_features and out_features must be positive, got ", options.in_features(), " and ",
           options.out_features());
  weight = register_parameter("weight", empty({options.out_features(), options.in_features()}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_features()}));
  reset_parameters();
}

void LinearImpl::reset_parameters() {
  // kaiming_uniform_ with a = sqrt(5) gives U(-1/sqrt(in), 1/sqrt(in)), PyTorch's choice.
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_features()));
    init::uniform_(bias, -bound, bound);
  }
}

void LinearImpl::check_input(const Tensor& input) const {
  BG_CHECK(input.defined() && input.dim() >= 1 && input.size(-1) == options.in_features(), "Linear",
           "expected an input whose last dim is in_features = ", options.in_features(), ", got ",
           describe(input));
}

Tensor LinearImpl::forward(const Tensor& input) {
  check_input(input);
  return functional::linear(input, weight, bias);
}

Tensor LinearImpl::forward_relu(const Tensor& input) {
  check_input(input);
  return functional::linear_relu(input, weight, bias);
}

void LinearImpl::pretty_print(std::ostream& out) const {
  out << "Linear(in_features=" << options.in_features()
      << ", out_features=" << options.out_features()
      << ", bias=" << (options.bias() ? "true" : "false") << ")";
}

Tensor IdentityImpl::forward(const Tensor& input) { return input; }

BilinearImpl::BilinearImpl(const BilinearOptions& options_)
    : Module("Bilinear"), options(options_) {
  BG_CHECK(options.in1_features() > 0 && options.in2_features() > 0 && options.out_features() > 0,
           "Bilinear", "in1_features, in2_features and out_features must be positive, got ",
           options.in1_features(), ", ", options.in2_features(), " and ", options.out_features());
  weight = register_parameter(
      "weight", empty({options.out_features(), options.in1_features(), options.in2_features()}));
  if (options.bias()) bias = register_parameter("bias", empty({options.out_features()}));
  reset_parameters();
}

void BilinearImpl::reset_parameters() {
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.in1_features()));
  init::uniform_(weight, -bound, bound);
  if (bias.defined()) init::uniform_(bias, -bound, bound);
}

Tensor BilinearImpl::forward(const Tensor& input1, const Tensor& input2) {
  BG_CHECK(
      input1.defined() && input2.defined() && input1.dim() >= 1 && input2.dim() >= 1 &&
          input1.size(-1) == options.in1_features() && input2.size(-1) == options.in2_features(),
      "Bilinear", "expected inputs whose last dims are in1_features = ", options.in1_features(),
      " and in2_features = ", options.in2_features(), ", got ", describe(input1), " and ",
      describe(input2));
  return functional::bilinear(input1, input2, weight, bias);
}

void BilinearImpl::pretty_print(std::ostream& out) const {
  out << "Bilinear(in1_features=" << options.in1_features()
      << ", in2_features=" << options.in2_features() << ", out_features=" << options.out_features()
      << ", bias=" << detail::python_bool(options.bias()) << ")";
}

}  // namespace bg::nn
