#include "bg/nn/modules/attention.h"

#include <cmath>

#include "attention_core.h"
#include "bg/nn/functional.h"
#include "bg/nn/init.h"

namespace bg::nn {

namespace {

constexpr const char* kName = "MultiheadAttention";

// `rows` rows of `weight` and `bias` (undefined stays undefined) from `start`, applied to x.
Tensor project_rows(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t start,
                    int64_t rows) {
  return functional::linear(x, weight.narrow(0, start, rows),
                            bias.defined() ? bias.narrow(0, start, rows) : Tensor());
}

// Block i (0: query, 1: key, 2: value) of the projections {qkv}, {q, kv} or {q, k, v}: [seq, N, E].
Tensor projections_block(const std::vector<Tensor>& projections, int i, int64_t E) {
  if (projections.size() == 3) return projections[static_cast<size_t>(i)];
  if (projections.size() == 1) return projections.front().narrow(-1, i * E, E);
  return i == 0 ? projections.front() : projections.back().narrow(-1, (i - 1) * E, E);
}

// `bias` [..., S] with a 0 appended to its last dim: the score bias of an appended key.
Tensor pad_key(const Tensor& bias) {
  if (!bias.defined()) return bias;
  Shape sizes = bias.sizes();
  sizes.back() = 1;
  return cat({bias, zeros(sizes, bias.options())}, -1);
}

}  // namespace

MultiheadAttentionImpl::MultiheadAttentionImpl(const MultiheadAttentionOptions& options_)
    : Module(kName), options(options_) {
  const int64_t E = options.embed_dim(), H = options.num_heads();
  BG_CHECK(E > 0 && H > 0, kName, "embed_dim and num_heads must be positive, got ", E, " and ", H);
  BG_CHECK(E % H == 0, kName, "embed_dim ", E, " must be divisible by num_heads ", H);
  BG_CHECK(options.kdim() > 0 && options.vdim() > 0, kName, "kdim and vdim must be positive, got ",
           options.kdim(), " and ", options.vdim());
  BG_CHECK(options.dropout() >= 0.0 && options.dropout() <= 1.0, kName,
           "the dropout probability must be in [0, 1], got ", options.dropout());
  head_dim = E / H;
  if (same_embed_dim()) {
    in_proj_weight = register_parameter("in_proj_weight", empty({3 * E, E}));
  } else {
    q_proj_weight = register_parameter("q_proj_weight", empty({E, E}));
    k_proj_weight = register_parameter("k_proj_weight", empty({E, options.kdim()}));
    v_proj_weight = register_parameter("v_proj_weight", empty({E, options.vdim()}));
  }
  if (options.bias()) in_proj_bias = register_parameter("in_proj_bias", empty({3 * E}));
  out_proj = register_module("out_proj", Linear(LinearOptions(E, E).bias(options.bias())));
  if (options.add_bias_kv()) {
    bias_k = register_parameter("bias_k", empty({1, 1, E}));
    bias_v = register_parameter("bias_v", empty({1, 1, E}));
  }
  reset_parameters();
}

bool MultiheadAttentionImpl::same_embed_dim() const {
  return options.kdim() == options.embed_dim() && options.vdim() == options.embed_dim();
}

void MultiheadAttentionImpl::reset_parameters() {
  for (Tensor* weight : {&in_proj_weight, &q_proj_weight, &k_proj_weight, &v_proj_weight}) {
    if (weight->defined()) init::xavier_uniform_(*weight);
  }
  if (in_proj_bias.defined()) {
    init::zeros_(in_proj_bias);
    init::zeros_(out_proj->bias);
  }
  if (bias_k.defined()) {
    init::xavier_normal_(bias_k);
    init::xavier_normal_(bias_v);
  }
}

std::vector<Tensor> MultiheadAttentionImpl::project(const Tensor& query, const Tensor& key,
                                                    const Tensor& value, bool self_attention,
                                                    bool shared_key_value) const {
  const int64_t E = options.embed_dim();
  if (!same_embed_dim()) {
    const auto bias = [&](int64_t i) {
      return in_proj_bias.defined() ? in_proj_bias.narrow(0, i * E, E) : Tensor();
    };
    return {functional::linear(query, q_proj_weight, bias(0)),
            functional::linear(key, k_proj_weight, bias(1)),
            functional::linear(value, v_proj_weight, bias(2))};
  }
  if (self_attention) return {functional::linear(query, in_proj_weight, in_proj_bias)};
  const Tensor q = project_rows(query, in_proj_weight, in_proj_bias, 0, E);
  if (shared_key_value) return {q, project_rows(key, in_proj_weight, in_proj_bias, E, 2 * E)};
  return {q, project_rows(key, in_proj_weight, in_proj_bias, E, E),
          project_rows(value, in_proj_weight, in_proj_bias, 2 * E, E)};
}

std::tuple<Tensor, Tensor> MultiheadAttentionImpl::forward(
    const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& key_padding_mask,
    bool need_weights, const Tensor& attn_mask, bool average_attn_weights) {
  const int64_t E = options.embed_dim(), H = options.num_heads();
  BG_CHECK(query.defined() && key.defined() && value.defined(), kName,
           "query, key and value must be defined");
  BG_CHECK((query.dim() == 2 || query.dim() == 3) && key.dim() == query.dim() &&
               value.dim() == query.dim(),
           kName,
           "expected query, key and value all 3-d (batched) or all 2-d (unbatched), got query ",
           describe(query), ", key ", describe(key), ", value ", describe(value));
  const Tensor& parameter = same_embed_dim() ? in_proj_weight : q_proj_weight;
  for (const Tensor* input : {&query, &key, &value}) {
    BG_CHECK(input->dtype() == parameter.dtype() && input->device() == parameter.device(), kName,
             "the input ", describe(*input), " does not match the parameters ",
             describe(parameter));
  }
  const bool batched = query.dim() == 3;
  // PyTorch's fast paths look at identity: the same tensor as query, key and value is
  // self-attention, one as key and value encoder-decoder attention.
  const bool shared_key_value = key.is_same(value);
  const bool self_attention = shared_key_value && query.is_same(key);
  // Time-major [seq, N, features] inside.
  const auto time_major = [&](const Tensor& x) {
    return !batched ? x.unsqueeze(1) : options.batch_first() ? x.transpose(0, 1) : x;
  };
  const Tensor q_in = time_major(query), k_in = time_major(key), v_in = time_major(value);
  const int64_t L = q_in.size(0), N = q_in.size(1);
  int64_t S = k_in.size(0);
  BG_CHECK(q_in.size(2) == E && k_in.size(2) == options.kdim() && v_in.size(2) == options.vdim() &&
               k_in.size(1) == N && v_in.size(1) == N && v_in.size(0) == S,
           kName, "expected query [", batched ? "L, N, " : "L, ", E, "], key [",
           batched ? "S, N, " : "S, ", options.kdim(), "] and value [", batched ? "S, N, " : "S, ",
           options.vdim(), "]", options.batch_first() && batched ? " (batch first)" : "",
           ", got query ", describe(query), ", key ", describe(key), ", value ", describe(value));

  // The masks as float biases of the scores, viewed [N or 1, H or 1, L or 1, S].
  Tensor attn_bias, padding_bias;
  if (attn_mask.defined()) {
    const bool as_2d = attn_mask.dim() == 2 && attn_mask.sizes() == Shape{L, S};
    const bool as_3d = attn_mask.dim() == 3 && attn_mask.sizes() == Shape{N * H, L, S};
    BG_CHECK(as_2d || as_3d, kName, "expected attn_mask [", L, ", ", S, "] or [", N * H, ", ", L,
             ", ", S, "] (N * num_heads, L, S), got ", describe(attn_mask));
    attn_bias = detail::mask_as_bias(kName, "attn_mask", attn_mask, true, q_in);
    attn_bias = as_2d ? attn_bias.view({1, 1, L, S}) : attn_bias.view({N, H, L, S});
  }
  if (key_padding_mask.defined()) {
    const Shape expected = batched ? Shape{N, S} : Shape{S};
    BG_CHECK(key_padding_mask.sizes() == expected, kName, "expected key_padding_mask ",
             shape_str(expected), ", got ", describe(key_padding_mask));
    padding_bias = detail::mask_as_bias(kName, "key_padding_mask", key_padding_mask, true, q_in)
                       .view({N, 1, 1, S});
  }

  // {qkv}, {q, kv} or {q, k, v}: one, two or three products.
  std::vector<Tensor> projections = project(q_in, k_in, v_in, self_attention, shared_key_value);
  if (bias_k.defined() || options.add_zero_attn()) {
    // Keys and values get extra time steps: learned ones (bias_k, bias_v), then zeros.
    Tensor q = projections_block(projections, 0, E), k = projections_block(projections, 1, E),
           v = projections_block(projections, 2, E);
    const auto append = [&](const Tensor& step) {
      k = cat({k, step.defined() ? step.expand({1, N, E}) : zeros({1, N, E}, k.options())});
      v = cat({v, step.defined() ? bias_v.expand({1, N, E}) : zeros({1, N, E}, v.options())});
      attn_bias = pad_key(attn_bias);
      padding_bias = pad_key(padding_bias);
      S += 1;
    };
    if (bias_k.defined()) append(bias_k);
    if (options.add_zero_attn()) append(Tensor());
    projections = {q, k, v};
  }
  const Tensor bias = !attn_bias.defined()      ? padding_bias
                      : !padding_bias.defined() ? attn_bias
                                                : attn_bias + padding_bias;
  const double dropout_p = is_training() ? options.dropout() : 0.0;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));

  Tensor heads_output, weights;
  if (!need_weights) {
    // One op from the projections to the heads' outputs [L, N, E] (bg/core/transformer.h).
    heads_output = multi_head_attention(projections, H, bias, dropout_p, scale);
  } else {
    // The weights are a result: the composition, with the heads as views [N, H, seq, head_dim].
    const auto heads = [&](const Tensor& x) {
      const int64_t length = x.size(0);
      return x.reshape({length, N * H, head_dim}).transpose(0, 1).view({N, H, length, head_dim});
    };
    const auto attention = detail::attend(
        heads(projections_block(projections, 0, E)), heads(projections_block(projections, 1, E)),
        heads(projections_block(projections, 2, E)), bias, dropout_p, scale);
    heads_output = attention.output.permute({2, 0, 1, 3}).reshape({L, N, E});
    weights = average_attn_weights ? attention.weights.mean(1) : attention.weights;
    if (!batched) weights = weights.squeeze(0);
  }
  Tensor output = out_proj(heads_output);
  output = !batched ? output.squeeze(1) : options.batch_first() ? output.transpose(0, 1) : output;
  return {output, weights};
}

}  // namespace bg::nn
