// Scaled dot-product attention (PyTorch 2's scaled_dot_product_attention) and the pieces
// MultiheadAttention shares with it (attention_core.h).

#include <cmath>
#include <limits>

#include "attention_core.h"
#include "bg/nn/functional.h"

namespace bg::nn {

namespace detail {

Tensor mask_as_bias(const char* op, const char* name, const Tensor& mask, bool blocked_where,
                    const Tensor& query) {
  BG_CHECK(mask.device() == query.device(), op, "the ", name, " ", describe(mask),
           " is not on the query's device (query ", describe(query), ")");
  if (mask.dtype() == kBool) {
    const double inf = std::numeric_limits<double>::infinity();
    const Tensor blocked = blocked_where ? mask : mask.logical_not();
    return zeros(mask.sizes(), query.options()).masked_fill(blocked, -inf);
  }
  BG_CHECK(mask.dtype() == query.dtype(), op, "expected the ", name,
           " to be a bool mask or a float mask of the query's dtype ", dtype_name(query.dtype()),
           ", got ", describe(mask));
  return mask;
}

Attention attend(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& bias,
                 double dropout_p, double scale) {
  Tensor scores = (query * scale).matmul(key.transpose(-2, -1));
  if (bias.defined()) scores = scores + bias;
  Tensor weights = scores.softmax(-1);
  if (dropout_p > 0.0) weights = functional::dropout(weights, dropout_p, true);
  return {weights.matmul(value), weights};
}

}  // namespace detail

namespace functional {

namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

// The batch dims of t (all but the last two).
Shape batch_dims(const Tensor& t) { return Shape(t.sizes().begin(), t.sizes().end() - 2); }

// True when `sizes` broadcasts to `target` without changing it.
bool broadcasts_to(const Shape& sizes, const Shape& target) {
  if (sizes.size() > target.size()) return false;
  const size_t lead = target.size() - sizes.size();
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] != 1 && sizes[i] != target[lead + i]) return false;
  }
  return true;
}

void check_operands(const Tensor& query, const Tensor& key, const Tensor& value) {
  BG_CHECK(query.defined() && key.defined() && value.defined(), kOp,
           "query, key and value must be defined");
  BG_CHECK(query.dim() >= 2 && key.dim() >= 2 && value.dim() >= 2 &&
               query.size(-1) == key.size(-1) && key.size(-2) == value.size(-2),
           kOp, "expected query [..., L, E], key [..., S, E] and value [..., S, Ev], got ",
           describe(query), ", ", describe(key), " and ", describe(value));
  BG_CHECK(
      query.is_floating_point() && key.dtype() == query.dtype() && value.dtype() == query.dtype(),
      kOp, "expected floating-point query, key and value of one dtype, got ", describe(query), ", ",
      describe(key), " and ", describe(value));
  BG_CHECK(key.device() == query.device() && value.device() == query.device(), kOp,
           "query, key and value must be on one device, got ", describe(query), ", ", describe(key),
           " and ", describe(value));
  broadcast_shapes(kOp, broadcast_shapes(kOp, batch_dims(query), batch_dims(key)),
                   batch_dims(value));
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale) {
  check_operands(query, key, value);
  BG_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, kOp,
           "the dropout probability must be in [0, 1], got ", dropout_p);
  BG_CHECK(!(is_causal && attn_mask.defined()), kOp,
           "is_causal and attn_mask exclude each other: give one of them");
  const int64_t L = query.size(-2), S = key.size(-2);
  Tensor bias;
  if (is_causal) {
    const double inf = std::numeric_limits<double>::infinity();
    bias = full({L, S}, -inf, query.options()).triu(1);
  } else if (attn_mask.defined()) {
    bias = detail::mask_as_bias(kOp, "attn_mask", attn_mask, false, query);
    Shape scores = broadcast_shapes(kOp, batch_dims(query), batch_dims(key));
    scores.insert(scores.end(), {L, S});
    BG_CHECK(broadcasts_to(bias.sizes(), scores), kOp, "the attn_mask ", describe(attn_mask),
             " does not broadcast to the scores ", shape_str(scores));
  }
  const double factor =
      scale.value_or(1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(query.size(-1), 1))));
  return detail::attend(query, key, value, bias, dropout_p, factor).output;
}

}  // namespace functional

}  // namespace bg::nn
