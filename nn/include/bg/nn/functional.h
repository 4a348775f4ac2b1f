#pragma once
// nn::functional: the operations of the layers as free functions (torch.nn.functional).

#include "bg/core.h"

namespace bg::nn::functional {

/// x W^T + b: input [..., in], weight [out, in], optional bias [out].
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {});

}  // namespace bg::nn::functional
