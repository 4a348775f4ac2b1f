#pragma once
// MultiheadAttention with PyTorch's options, shapes, masks, parameter names and initialization
// (torch.nn.MultiheadAttention), and LibTorch's spellings.
//
//   nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(64, 4).dropout(0.1));
//   auto [output, weights] = mha(query, key, value);            // [L, N, 64], [N, L, S]
//   auto [out, none] = mha(x, x, x, key_padding_mask, false);   // self-attention, no weights
//
// Shapes (L = target length, S = source length, N = batch, E = embed_dim, H = num_heads):
//   query [L, N, E] ([N, L, E] with batch_first, [L, E] unbatched), key [S, N, kdim], value
//   [S, N, vdim] (same layout as query); output like query.
//   key_padding_mask [N, S] ([S] unbatched): bool (true: that key is padding, ignored) or float
//   (added to the scores of that key).
//   attn_mask [L, S] or [N * H, L, S]: bool (true: query i may not attend key j) or float (added
//   to the scores). Float masks have the query's dtype. A query that may attend no key gets NaN.
//   weights [N, L, S] averaged over heads, or [N, H, L, S] with average_attn_weights false
//   ([L, S] / [H, L, S] unbatched); undefined when need_weights is false. In training mode with
//   dropout, they are the weights after dropout, as PyTorch returns them.
// Parameters, in PyTorch's order: in_proj_weight [3E, E] (or q_proj_weight [E, E],
// k_proj_weight [E, kdim] and v_proj_weight [E, vdim] when kdim or vdim differ from E),
// in_proj_bias [3E], bias_k and bias_v [1, 1, E] (add_bias_kv), out_proj.weight [E, E] and
// out_proj.bias [E]. The projection weights start from xavier_uniform, the biases from zeros,
// bias_k and bias_v from xavier_normal, out_proj.weight as a Linear's.
//
// The queries, keys and values are projected with one matrix product when query, key and value
// are the same tensor (two when key and value are), every head's scores are one batched product,
// and one softmax normalizes them all.

#include <tuple>
#include <vector>

#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/modules/linear.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::nn {

struct MultiheadAttentionOptions {
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads)
      : embed_dim_(embed_dim), num_heads_(num_heads), kdim_(embed_dim), vdim_(embed_dim) {}
  /// E, the features of the queries and of the output.
  BG_ARG(int64_t, embed_dim);
  /// H, the heads; each attends over embed_dim / num_heads features.
  BG_ARG(int64_t, num_heads);
  /// The probability of dropping an attention weight (training only).
  BG_ARG(double, dropout) = 0.0;
  /// Biases in the input and output projections.
  BG_ARG(bool, bias) = true;
  /// Learned key and value appended to the projected keys and values (bias_k, bias_v).
  BG_ARG(bool, add_bias_kv) = false;
  /// A key and value of zeros appended after projection, so every query may attend something.
  BG_ARG(bool, add_zero_attn) = false;
  /// The features of the keys (default embed_dim).
  BG_ARG(int64_t, kdim);
  /// The features of the values (default embed_dim).
  BG_ARG(int64_t, vdim);
  /// Inputs and output are [batch, seq, feature] instead of [seq, batch, feature].
  BG_ARG(bool, batch_first) = false;
};

/// Multi-head attention (Vaswani et al., 2017): MultiHead(Q, K, V) = Concat(head_1, ..., head_H)
/// W_O with head_i = softmax(Q W_i^Q (K W_i^K)^T / sqrt(E / H)) V W_i^V.
class MultiheadAttentionImpl : public Module {
 public:
  MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads)
      : MultiheadAttentionImpl(MultiheadAttentionOptions(embed_dim, num_heads)) {}
  explicit MultiheadAttentionImpl(const MultiheadAttentionOptions& options);

  /// Draws the parameters again from their initial distributions (out_proj.weight excepted, as in
  /// PyTorch).
  void reset_parameters();
  /// (output, attention weights) for the shapes and masks above.
  std::tuple<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const Tensor& key_padding_mask = {}, bool need_weights = true,
                                     const Tensor& attn_mask = {},
                                     bool average_attn_weights = true);
  BG_FORWARD_DEFAULT_ARGS(Tensor(), true, Tensor(), true)

  MultiheadAttentionOptions options;
  int64_t head_dim;
  Tensor in_proj_weight;                               ///< [3E, E]; undefined with kdim/vdim
  Tensor q_proj_weight, k_proj_weight, v_proj_weight;  ///< only when kdim or vdim != E
  Tensor in_proj_bias;                                 ///< [3E]; undefined without bias
  Tensor bias_k, bias_v;                               ///< [1, 1, E]; only with add_bias_kv
  Linear out_proj = nullptr;

 private:
  bool same_embed_dim() const;
  // The projections of time-major inputs: {qkv} ([seq, N, 3E]) for self-attention, {q, kv} when
  // key and value are one tensor, {q, k, v} otherwise.
  std::vector<Tensor> project(const Tensor& query, const Tensor& key, const Tensor& value,
                              bool self_attention, bool shared_key_value) const;
};
BG_MODULE(MultiheadAttention);

}  // namespace bg::nn

BG_API_END
