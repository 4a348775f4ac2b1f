// Masking: masked_fill, and the triangles tril and triu (a causal attention mask is the upper
// triangle above the diagonal). Each is where() with a bool mask, so it broadcasts,
// differentiates and runs on every backend through that one op.

#include "bg/core/factory.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

namespace {

void check_mask(const char* op, const Tensor& x, const Tensor& mask) {
  detail::check_defined(op, x);
  detail::check_defined(op, mask, "mask");
  detail::check_same_device(op, x, mask);
  BG_CHECK(mask.dtype() == kBool, op, "the mask must be a bool tensor, got ", describe(mask));
  broadcast_shapes(op, x.sizes(), mask.sizes());  // throws naming both shapes
}

// x where column - row is <= diagonal (lower) or >= diagonal (upper) in the last two dims, zeros
// elsewhere.
Tensor triangle(const char* op, const Tensor& x, int64_t diagonal, bool lower) {
  detail::check_defined(op, x);
  BG_CHECK(x.dim() >= 2, op,
           "expected a tensor of at least 2 dims (matrices in the last two), got ", describe(x));
  const TensorOptions index = TensorOptions(kInt64).device(x.device());
  const Tensor column_minus_row =
      arange(x.size(-1), index) - arange(x.size(-2), index).unsqueeze(1);
  const Tensor keep = lower ? column_minus_row <= diagonal : column_minus_row >= diagonal;
  return where(keep, x, zeros({}, x.options()));
}

}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value) {
  check_mask("masked_fill", x, mask);
  return where(mask, full({}, value, x.options()), x);
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  check_mask("masked_fill", x, mask);
  detail::check_defined("masked_fill", value, "value");
  detail::check_same_device("masked_fill", x, value);
  BG_CHECK(value.dim() == 0, "masked_fill", "the value must be a 0-dim tensor, got ",
           describe(value));
  return where(mask, value.to(x.dtype()), x);
}

Tensor tril(const Tensor& x, int64_t diagonal) { return triangle("tril", x, diagonal, true); }
Tensor triu(const Tensor& x, int64_t diagonal) { return triangle("triu", x, diagonal, false); }

}  // namespace bg
