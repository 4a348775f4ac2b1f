#pragma once
// nn::functional: the operations of the layers and the losses as free functions
// (torch.nn.functional). Everything here is differentiable.

#include <optional>
#include <string>

#include "bg/core.h"
#include "bg/core/api.h"
#include "bg/nn/functional/attention.h"
#include "bg/nn/functional/conv.h"
#include "bg/nn/loss_options.h"

BG_API_BEGIN

namespace bg::nn::functional {

// ---- Linear -------------------------------------------------------------------------------------

/// x W^T + b: input [..., in], weight [out, in], optional bias [out].
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {});
/// relu(x W^T + b), as relu(linear(...)) bit for bit, values and gradients; with a bias, one GEMM
/// with the bias and the ReLU in its epilogue and one autograd node (bg::addmm_relu), also for the
/// S weight draws of a vectorised pass. nn::Sequential runs a Linear followed by a ReLU with it.
Tensor linear_relu(const Tensor& input, const Tensor& weight, const Tensor& bias = {});

/// y_k = x1^T W_k x2 + b_k: input1 [..., in1], input2 [..., in2] (same leading dims), weight
/// [out, in1, in2], optional bias [out]; the result is [..., out].
Tensor bilinear(const Tensor& input1, const Tensor& input2, const Tensor& weight,
                const Tensor& bias = {});

// ---- Activations --------------------------------------------------------------------------------

Tensor relu(const Tensor& input);
/// x for x >= 0, negative_slope x below.
Tensor leaky_relu(const Tensor& input, double negative_slope = 0.01);
/// x for x > 0, alpha (e^x - 1) below.
Tensor elu(const Tensor& input, double alpha = 1.0);
/// x Phi(x) ("none"), or the approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
/// ("tanh").
Tensor gelu(const Tensor& input, const std::string& approximate = "none");
/// x sigmoid(x).
Tensor silu(const Tensor& input);
/// log(1 + exp(beta x)) / beta, and x itself where beta x > threshold.
Tensor softplus(const Tensor& input, double beta = 1.0, double threshold = 20.0);
Tensor sigmoid(const Tensor& input);
Tensor tanh(const Tensor& input);
/// exp(x) / sum(exp(x)) along `dim`.
Tensor softmax(const Tensor& input, int64_t dim);
/// log(softmax(x)) along `dim`, computed without overflow.
Tensor log_softmax(const Tensor& input, int64_t dim);

// ---- Dropout ------------------------------------------------------------------------------------

/// Zeroes each element with probability p and scales the others by 1 / (1 - p) when `training`;
/// the input itself otherwise. With `inplace`, writes into the input.
Tensor dropout(const Tensor& input, double p = 0.5, bool training = true, bool inplace = false);
/// Dropout of whole channels: input [N, C, L] or [C, L]; each channel is kept (and scaled by
/// 1 / (1 - p)) or zeroed as one.
Tensor dropout1d(const Tensor& input, double p = 0.5, bool training = true, bool inplace = false);
/// Dropout of whole channels: input [N, C, H, W] or [C, H, W]; each [H, W] plane is kept (and
/// scaled by 1 / (1 - p)) or zeroed as one.
Tensor dropout2d(const Tensor& input, double p = 0.5, bool training = true, bool inplace = false);
/// Dropout of whole channels: input [N, C, D, H, W] or [C, D, H, W]; each [D, H, W] volume is kept
/// (and scaled by 1 / (1 - p)) or zeroed as one.
Tensor dropout3d(const Tensor& input, double p = 0.5, bool training = true, bool inplace = false);
/// Alpha dropout for SELU networks (Klambauer et al., 2017), as PyTorch computes it: with
/// alpha' = 1.7580993408473766 (SELU's negative saturation is -alpha'), a = ((alpha'^2 p + 1)
/// (1 - p))^(-1/2) and a mask m that keeps each element with probability 1 - p,
///   out = a (m x + (1 - m)(-alpha')) + a alpha' p,
/// which keeps a zero-mean, unit-variance input so. p = 1 gives zeros; eval returns the input.
Tensor alpha_dropout(const Tensor& input, double p = 0.5, bool training = false,
                     bool inplace = false);
/// alpha_dropout with one mask entry per channel (dim 1) of input [N, C, ...].
Tensor feature_alpha_dropout(const Tensor& input, double p = 0.5, bool training = false,
                             bool inplace = false);

// ---- Normalization ------------------------------------------------------------------------------

/// Normalizes each channel (dim 1) of input [N, C, ...]. With `training`, uses the batch's mean and
/// biased variance, and (when running_mean / running_var are defined) updates them in place:
/// running = (1 - momentum) running + momentum batch, with the unbiased variance. Otherwise uses
/// the running statistics. Then scales by weight [C] and shifts by bias [C] when defined.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = {}, const Tensor& bias = {}, bool training = false,
                  double momentum = 0.1, double eps = 1e-5);
/// Normalizes over the last dims, which must be `normalized_shape`, with the biased variance;
/// then weight and bias (of that shape) when defined.
Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);
/// Normalizes input [N, C, ...] over each of `num_groups` groups of C / num_groups channels
/// (and all the positions); then weight [C] and bias [C] per channel when defined.
Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight = {},
                  const Tensor& bias = {}, double eps = 1e-5);

// ---- Embedding ----------------------------------------------------------------------------------

/// The rows of weight [num_embeddings, dim] at int64 `indices` (any shape): [..., dim]. The row
/// `padding_idx` (negative counts from the end) receives no gradient.
Tensor embedding(const Tensor& indices, const Tensor& weight,
                 std::optional<int64_t> padding_idx = std::nullopt);
/// int64 indices [...] to int64 [..., num_classes] with a 1 at each index; num_classes = -1 means
/// the largest index + 1.
Tensor one_hot(const Tensor& indices, int64_t num_classes = -1);

// ---- Losses -------------------------------------------------------------------------------------
// Input and target have the same shape unless said otherwise (a mismatch is an error).

/// (input - target)^2.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// |input - target|.
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);
/// 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target,
                      const SmoothL1LossOptions& options = {});
/// 0.5 d^2 where |d| <= delta, delta (|d| - 0.5 delta) elsewhere.
Tensor huber_loss(const Tensor& input, const Tensor& target, const HuberLossOptions& options = {});
/// -weight[t] input[t] for log-probabilities input [N, C] or [N, C, d1, ...] (or [C]) and int64
/// class indices target [N] or [N, d1, ...] (or []). The mean divides by the summed weights of the
/// targets that are not ignore_index.
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossOptions& options = {});
/// nll_loss(log_softmax(input, 1), target) for int64 class indices; for a floating-point target
/// of the input's shape (class probabilities), -sum_c weight[c] target[c] log_softmax(input)[c],
/// whose mean divides by the number of samples. label_smoothing mixes the target with the uniform
/// distribution.
Tensor cross_entropy(const Tensor& input, const Tensor& target,
                     const CrossEntropyLossOptions& options = {});
/// -weight (t log(x) + (1 - t) log(1 - x)) for probabilities x in [0, 1]; each log is clamped to
/// at least -100, as in PyTorch, so the loss stays finite.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target,
                            const BCELossOptions& options = {});
/// binary_cross_entropy(sigmoid(x), t) computed from logits x without overflow:
/// weight ((1 - t) x + (1 + (pos_weight - 1) t) log(1 + e^-x)).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BCEWithLogitsLossOptions& options = {});
/// 0.5 (log(var) + (input - target)^2 / var) (+ 0.5 log(2 pi) when full). var has the input's
/// shape, or lacks (or has size 1 in) its last dim; it must be non-negative and is clamped to eps.
Tensor gaussian_nll_loss(const Tensor& input, const Tensor& target, const Tensor& var,
                         const GaussianNLLLossOptions& options = {});
/// target (log(target) - input) for log-probabilities input (0 where target is 0), or
/// exp(target) (target - input) with log_target.
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivLossOptions& options = {});

}  // namespace bg::nn::functional

BG_API_END
