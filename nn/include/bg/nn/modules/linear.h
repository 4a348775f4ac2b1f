#pragma once
// Linear: y = x W^T + b; Bilinear: y_k = x1^T W_k x2 + b_k; Identity.

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/options.h"

BG_API_BEGIN

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
  /// relu(forward(input)) as one fused op (functional::linear_relu), with the same bits: what
  /// nn::Sequential runs for a Linear followed by a ReLU.
  Tensor forward_relu(const Tensor& input);
  void pretty_print(std::ostream& out) const override;

  LinearOptions options;
  Tensor weight;
  Tensor bias;  ///< undefined without bias

 private:
  void check_input(const Tensor& input) const;
};
BG_MODULE(Linear);

/// Returns its input (a placeholder, e.g. for a layer switched off).
class IdentityImpl : public Module {
 public:
  IdentityImpl() : Module("Identity") {}
  Tensor forward(const Tensor& input);
};
BG_MODULE(Identity);

struct BilinearOptions {
  BilinearOptions(int64_t in1_features, int64_t in2_features, int64_t out_features)
      : in1_features_(in1_features), in2_features_(in2_features), out_features_(out_features) {}
  BG_ARG(int64_t, in1_features);
  BG_ARG(int64_t, in2_features);
  BG_ARG(int64_t, out_features);
  BG_ARG(bool, bias) = true;
};

/// y_k = x1^T W_k x2 + b_k for inputs [..., in1] and [..., in2]. Weight [out, in1, in2] and bias
/// [out] start from U(-1/sqrt(in1), 1/sqrt(in1)), PyTorch's default.
class BilinearImpl : public Module {
 public:
  BilinearImpl(int64_t in1_features, int64_t in2_features, int64_t out_features)
      : BilinearImpl(BilinearOptions(in1_features, in2_features, out_features)) {}
  explicit BilinearImpl(const BilinearOptions& options);

  /// Draws the parameters again from their initial distribution.
  void reset_parameters();
  Tensor forward(const Tensor& input1, const Tensor& input2);
  void pretty_print(std::ostream& out) const override;

  BilinearOptions options;
  Tensor weight;
  Tensor bias;  ///< undefined without bias
};
BG_MODULE(Bilinear);

}  // namespace bg::nn

BG_API_END
