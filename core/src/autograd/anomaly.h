#pragma once
// What anomaly detection (bg/core/autograd/anomaly.h) does inside autograd (internal to core).

#include <span>
#include <string>

#include "bg/core/autograd/node.h"

namespace bg::autograd::anomaly {

/// How a node made by an op with these inputs and output came about: the tensors and the C++ call
/// stack, for the message of an anomaly found in its backward.
std::string describe_creation(std::span<const Tensor> inputs, const Tensor& out);

/// Throws naming `node` if a gradient it returned has a NaN or infinite element.
void check_gradients(const Node& node, const Grads& grads);

}  // namespace bg::autograd::anomaly
