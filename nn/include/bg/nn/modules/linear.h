#pragma once
// Linear: y = x W^T + b.

#include "bg/nn/holder.h"
#include "bg/nn/options.h"

namespace bg::nn {

struct LinearOptions {
  LinearOptions(int64_t in_features, int64_t out_features)
      : in_features_(in_features), out_features_(out_features) {}
  BG_ARG(int64_t, in_features);
  BG_ARG(int64_t, out_features);
  BG_ARG(bool, bias) = true;
};

/// Applies x W^T + b to the last dim of the input. Weight [out, in] and bias [out] start from
/// U(-1/sqrt(in), 1/sqrt(in)), PyTorch's default.
class LinearImpl : public Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features)
      : LinearImpl(LinearOptions(in_features, out_features)) {}
  explicit LinearImpl(const LinearOptions& options);

  /// Draws the parameters again from their initial distribution.
  void reset_parameters();
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;

  LinearOptions options;
  Tensor weight;
  Tensor bias;  ///< undefined without bias
};
BG_MODULE(Linear);

}  // namespace bg::nn
