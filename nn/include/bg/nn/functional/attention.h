#pragma once
// nn::functional's attention: scaled dot-product attention with PyTorch 2's semantics
// (torch.nn.functional.scaled_dot_product_attention), which MultiheadAttention and the Transformer
// layers are built on.

#include <optional>

#include "bg/core.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::nn::functional {

/// softmax(query key^T * scale + mask) value, PyTorch 2's scaled_dot_product_attention:
///   query [..., L, E], key [..., S, E], value [..., S, Ev] -> [..., L, Ev]
/// (the batch dims broadcast as matmul's). `scale` defaults to 1 / sqrt(E).
/// `attn_mask` broadcasts to [..., L, S]: a bool mask says which positions take part (true: the
/// query attends to that key; false: it does not), a float mask (of the query's dtype) is added
/// to the scores. `is_causal` lets query i attend only keys j <= i (the lower triangle of
/// [L, S]); it excludes attn_mask. With dropout_p > 0 the attention weights go through dropout.
/// A query that may attend to no key gets NaN, as in PyTorch.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask = {}, double dropout_p = 0.0,
                                    bool is_causal = false,
                                    std::optional<double> scale = std::nullopt);

}  // namespace bg::nn::functional

BG_API_END
