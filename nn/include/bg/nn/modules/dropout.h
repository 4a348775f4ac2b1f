#pragma once
// Dropout layers (Srivastava et al., 2014): Dropout zeroes elements; Dropout1d, Dropout2d and
// Dropout3d zero whole channels of 1-, 2- and 3-d feature maps (Tompson et al., 2015); AlphaDropout
// and FeatureAlphaDropout keep the mean and variance of self-normalizing (SELU) networks
// (Klambauer et al., 2017).

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: `Dropout(0.2)` reads well
  /// The probability of zeroing an element (a channel), in [0, 1].
  BG_ARG(double, p);
  /// Write the result into the input.
  BG_ARG(bool, inplace) = false;
};
using Dropout1dOptions = DropoutOptions;
using Dropout2dOptions = DropoutOptions;
using Dropout3dOptions = DropoutOptions;
using AlphaDropoutOptions = DropoutOptions;
using FeatureAlphaDropoutOptions = DropoutOptions;

/// What the dropout layers share: their options, the Monte Carlo flag, PyTorch's repr.
class DropoutBase : public Module {
 public:
  void pretty_print(std::ostream& out) const override;
  DropoutOptions options;
  /// Keeps dropping in eval mode too (Monte Carlo dropout); train() and eval() leave it alone.
  /// bayes::enable_mc_dropout sets it.
  bool active_in_eval = false;

 protected:
  DropoutBase(const char* name, const DropoutOptions& options);
  /// Whether forward drops: in training mode, or always with active_in_eval.
  bool dropping() const { return is_training() || active_in_eval; }
};

/// In training mode, zeroes each element with probability p and scales the others by 1 / (1 - p)
/// (so the expected value is unchanged); in eval mode, returns the input.
class DropoutImpl : public DropoutBase {
 public:
  explicit DropoutImpl(const DropoutOptions& options = {});
  Tensor forward(const Tensor& input);
};
BG_MODULE(Dropout);

/// Dropout of whole channels of inputs [N, C, L] or [C, L]: each length-L channel is zeroed with
/// probability p, or kept and scaled by 1 / (1 - p).
class Dropout1dImpl : public DropoutBase {
 public:
  explicit Dropout1dImpl(const Dropout1dOptions& options = {});
  Tensor forward(const Tensor& input);
};
BG_MODULE(Dropout1d);

/// Dropout of whole channels of inputs [N, C, H, W] or [C, H, W]: each [H, W] plane is zeroed with
/// probability p, or kept and scaled by 1 / (1 - p).
class Dropout2dImpl : public DropoutBase {
 public:
  explicit Dropout2dImpl(const Dropout2dOptions& options = {});
  Tensor forward(const Tensor& input);
};
BG_MODULE(Dropout2d);

/// Dropout of whole channels of inputs [N, C, D, H, W] or [C, D, H, W]: each [D, H, W] volume is
/// zeroed with probability p, or kept and scaled by 1 / (1 - p).
class Dropout3dImpl : public DropoutBase {
 public:
  explicit Dropout3dImpl(const Dropout3dOptions& options = {});
  Tensor forward(const Tensor& input);
};
BG_MODULE(Dropout3d);

/// Dropout for SELU networks: each element is set, with probability p, to SELU's negative
/// saturation value -1.7581 instead of 0, and an affine correction a x + b keeps a zero-mean,
/// unit-variance input so (functional::alpha_dropout). Eval mode returns the input.
class AlphaDropoutImpl : public DropoutBase {
 public:
  explicit AlphaDropoutImpl(const AlphaDropoutOptions& options = {});
  Tensor forward(const Tensor& input);
};
BG_MODULE(AlphaDropout);

/// AlphaDropout of whole channels (dim 1) of inputs [N, C, ...].
class FeatureAlphaDropoutImpl : public DropoutBase {
 public:
  explicit FeatureAlphaDropoutImpl(const FeatureAlphaDropoutOptions& options = {});
  Tensor forward(const Tensor& input);
};
BG_MODULE(FeatureAlphaDropout);

}  // namespace bg::nn

BG_API_END
