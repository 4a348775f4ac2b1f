#pragma once
// What scaled_dot_product_attention and MultiheadAttention share: masks as additive biases, and
// the attention itself (weights and output) over batched matrices.

#include "bg/core.h"

namespace bg::nn::detail {

/// A mask as the float bias added to attention scores. A float mask is the bias itself (it must
/// have the query's dtype and device); a bool mask becomes -inf where it is `blocked_where` and 0
/// elsewhere (PyTorch's MultiheadAttention blocks where true, scaled_dot_product_attention where
/// false). `op` and `name` are for messages.
Tensor mask_as_bias(const char* op, const char* name, const Tensor& mask, bool blocked_where,
                    const Tensor& query);

/// The attention weights softmax(query key^T * scale + bias), through dropout when dropout_p > 0,
/// and their product with value: query [..., L, E], key [..., S, E], value [..., S, Ev] (batch
/// dims broadcast as matmul's), bias broadcastable to [..., L, S] or undefined.
struct Attention {
  Tensor output;   ///< [..., L, Ev]
  Tensor weights;  ///< [..., L, S]
};
Attention attend(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& bias,
                 double dropout_p, double scale);

}  // namespace bg::nn::detail
