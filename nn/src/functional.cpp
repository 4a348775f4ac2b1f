#include "bg/nn/functional.h"

namespace bg::nn::functional {

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  BG_CHECK(input.defined() && weight.defined() && weight.dim() == 2, "linear",
           "expected a 2-d weight [out, in], got ", describe(weight));
  BG_CHECK(input.dim() >= 1 && input.size(-1) == weight.size(1), "linear", "the input ",
           describe(input), " does not end in the weight's in_features ", weight.size(1),
           " (weight ", describe(weight), ")");
  const Tensor out = input.matmul(weight.t());
  return bias.defined() ? out + bias : out;
}

}  // namespace bg::nn::functional
