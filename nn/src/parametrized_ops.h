#pragma once
// linear and the convolutions when a parametrization asks for its weight or bias to be evaluated
// other than by reading its value (nn::OperandForm in bg/nn/parametrize.h): the local
// reparameterization trick, Flipout, and the S draws of a vectorised pass. nn::functional's linear,
// conv1d, conv2d and conv_transpose2d call these first; an undefined result means "both operands
// are plain values: compute the op as usual".

#include <functional>

#include "bg/core.h"

namespace bg::nn::detail {

/// input W^T + b with the operand forms of `weight` and `bias`, or undefined; its ReLU when
/// `relu` (in the GEMM's epilogue where the forms allow: S draws of the weight, with a bias).
Tensor linear_with_operand_forms(const Tensor& input, const Tensor& weight, const Tensor& bias,
                                 bool relu);

/// A convolution without its bias, as a function of (input, weight, groups factor): conv1d, conv2d
/// or conv_transpose2d with its geometry (stride, padding, ...) bound, its groups multiplied by the
/// factor (a vectorised pass stacks S weights as S times the groups). Channels are dim 1 of the
/// input and of the output.
using Convolution =
    std::function<Tensor(const Tensor& input, const Tensor& weight, int64_t groups_factor)>;

/// convolution(input, weight) + bias with the operand forms of `weight` and `bias`, or undefined.
Tensor convolution_with_operand_forms(const Convolution& convolution, const Tensor& input,
                                      const Tensor& weight, const Tensor& bias);

}  // namespace bg::nn::detail
