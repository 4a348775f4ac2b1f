#pragma once
// Dropout layers (Srivastava et al., 2014): Dropout zeroes elements, Dropout2d whole channels.

#include "bg/nn/holder.h"
#include "bg/nn/options.h"

namespace bg::nn {

struct DropoutOptions {
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: `Dropout(0.2)` reads well
  /// The probability of zeroing an element (a channel), in [0, 1].
  BG_ARG(double, p);
  /// Write the result into the input.
  BG_ARG(bool, inplace) = false;
};

/// In training mode, zeroes each element with probability p and scales the others by 1 / (1 - p)
/// (so the expected value is unchanged); in eval mode, returns the input.
class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(const DropoutOptions& options = {});
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  DropoutOptions options;
  /// Keeps dropping in eval mode too (Monte Carlo dropout); train() and eval() leave it alone.
  /// bayes::enable_mc_dropout sets it.
  bool active_in_eval = false;
};
BG_MODULE(Dropout);

using Dropout2dOptions = DropoutOptions;

/// Dropout of whole channels of inputs [N, C, H, W] or [C, H, W]: each [H, W] plane is zeroed with
/// probability p, or kept and scaled by 1 / (1 - p) (Tompson et al., 2015).
class Dropout2dImpl : public Module {
 public:
  explicit Dropout2dImpl(const Dropout2dOptions& options = {});
  Tensor forward(const Tensor& input);
  void pretty_print(std::ostream& out) const override;
  Dropout2dOptions options;
  /// Keeps dropping in eval mode too (Monte Carlo dropout); train() and eval() leave it alone.
  bool active_in_eval = false;
};
BG_MODULE(Dropout2d);

}  // namespace bg::nn
