#pragma once
// Options of the loss functions (nn::functional) and loss modules, with LibTorch's names.

#include "bg/core.h"
#include "bg/core/api.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

/// How a loss combines its per-element values: keep them, average them, or add them up.
enum class Reduction { None, Mean, Sum };

/// kl_div's reductions: BatchMean divides the sum by the batch size (the true mean KL divergence
/// per sample); Mean divides by the number of elements, as PyTorch's 'mean'.
enum class KLDivReduction { None, BatchMean, Sum, Mean };

struct MSELossOptions {
  BG_ARG(Reduction, reduction) = Reduction::Mean;
};

struct L1LossOptions {
  BG_ARG(Reduction, reduction) = Reduction::Mean;
};

struct SmoothL1LossOptions {
  BG_ARG(Reduction, reduction) = Reduction::Mean;
  /// Where the loss turns from quadratic to linear (0 gives the L1 loss).
  BG_ARG(double, beta) = 1.0;
};

struct HuberLossOptions {
  BG_ARG(Reduction, reduction) = Reduction::Mean;
  /// Where the loss turns from quadratic to linear (must be positive).
  BG_ARG(double, delta) = 1.0;
};

struct NLLLossOptions {
  /// A weight per class, [C] (undefined: all 1).
  BG_ARG(Tensor, weight);
  /// Targets equal to this contribute neither to the loss nor to the mean's denominator.
  BG_ARG(int64_t, ignore_index) = -100;
  BG_ARG(Reduction, reduction) = Reduction::Mean;
};

struct CrossEntropyLossOptions {
  /// A weight per class, [C] (undefined: all 1).
  BG_ARG(Tensor, weight);
  /// Class-index targets equal to this contribute neither to the loss nor to the mean.
  BG_ARG(int64_t, ignore_index) = -100;
  BG_ARG(Reduction, reduction) = Reduction::Mean;
  /// Mixes the target with the uniform distribution over the classes: (1 - s) target + s / C.
  BG_ARG(double, label_smoothing) = 0.0;
};

struct BCELossOptions {
  /// Weights broadcast against the elements (undefined: all 1).
  BG_ARG(Tensor, weight);
  BG_ARG(Reduction, reduction) = Reduction::Mean;
};

struct BCEWithLogitsLossOptions {
  /// Weights broadcast against the elements (undefined: all 1).
  BG_ARG(Tensor, weight);
  /// A weight for the positive term of each class, broadcast against the last dim.
  BG_ARG(Tensor, pos_weight);
  BG_ARG(Reduction, reduction) = Reduction::Mean;
};

struct GaussianNLLLossOptions {
  /// Adds the constant 0.5 log(2 pi) to each element.
  BG_ARG(bool, full) = false;
  /// The variance is clamped to at least eps (the gradient passes through the clamp unchanged).
  BG_ARG(double, eps) = 1e-6;
  BG_ARG(Reduction, reduction) = Reduction::Mean;
};

struct KLDivLossOptions {
  BG_ARG(KLDivReduction, reduction) = KLDivReduction::Mean;
  /// Whether the target is given as log-probabilities.
  BG_ARG(bool, log_target) = false;
};

}  // namespace bg::nn

BG_API_END
