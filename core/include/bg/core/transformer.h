#pragma once
// The two ops a Transformer layer spends its non-GEMM time in, each one op and one autograd node
// (nn::LayerNorm and nn::MultiheadAttention are built on them):
//
//   - layer_norm: normalization over the last dim with a learned scale and shift;
//   - multi_head_attention: the attention of all heads of a batch of sequences, from the query,
//     key and value projections to the heads' outputs side by side, ready for the output
//     projection.
//
// As compositions these take a dozen passes over memory each way: layer norm's mean, variance,
// normalization and affine steps; attention's slicing of a packed projection into three views
// (whose gradients would be three zero-filled copies of it), its copies into and out of the
// head-major layout, the scaling, softmax and its gradient. Here the forward pass runs the same
// formulas without recording them, and the backward pass is written out: the heads' products as
// batched matrix products, softmax's and layer norm's derivatives as one fused kernel each where
// the backend has them (TransformerKernels in backend.h), and each projection's gradient written
// once, block by block. Under create_graph the backward pass recomputes the forward formulas from
// the saved inputs in recorded Tensor ops, so it can be differentiated again.

#include <vector>

#include "bg/core/api.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg {

/// Layer normalization over the last dim: with the mean and biased variance of each row,
///   out = (x - mean) / sqrt(var + eps) * weight + bias,
/// weight and bias [C] (C = the last dim), each skipped when undefined.
Tensor layer_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, double eps);

/// Multi-head attention over time-major projections (MultiheadAttention without the attention
/// weights): for each sequence n of the batch and head h,
///   out[:, n, head h] = dropout(softmax(q_nh k_nh^T * scale + bias[n, h])) v_nh,
/// where q_nh [L, D] is head h's block of columns of query[:, n, :] (E = num_heads * D), and k_nh,
/// v_nh [S, D] likewise. `projections` holds the query [L, N, E], key [S, N, E] and value
/// [S, N, E] as column blocks of one, two or three tensors: {qkv} with qkv [L, N, 3E] (self-
/// attention's one projection), {q, kv} with kv [S, N, 2E] (keys and values from one projection),
/// or {q, k, v}. Each is differentiated as a whole. `bias` (float, of their dtype, broadcastable
/// to [N, num_heads, L, S]; undefined: none) is added to the scores; a query whose scores are all
/// -inf gets NaN, as in PyTorch. With dropout_p > 0 the weights go through dropout (training).
/// Returns [L, N, E].
Tensor multi_head_attention(const std::vector<Tensor>& projections, int64_t num_heads,
                            const Tensor& bias, double dropout_p, double scale);

}  // namespace bg

BG_API_END
