// Matrix products: mm and bmm are the differentiable primitives, matmul arranges views around them.

#include <algorithm>
#include <utility>

#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

using autograd::Context;
using autograd::Grads;

namespace {

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  detail::check_same_device(op, a, b);
  BG_CHECK(a.dtype() == b.dtype(), op, "expected operands of one dtype, got ", describe(a), " and ",
           describe(b));
  BG_CHECK(a.is_floating_point(), op, "expected float32 or float64 operands, got ", describe(a),
           " and ", describe(b));
}

// out[b] = activation(a[b] @ b[b] (+ bias[b], of out's sizes, when defined)) for 3-d operands
// (batch strides may be 0).
Tensor batched_product(const char* op, const Tensor& a, const Tensor& b, const Tensor& bias = {},
                       MatmulActivation activation = MatmulActivation::None) {
  Tensor out = detail::empty_tensor(op, {a.size(0), a.size(1), b.size(2)}, a.dtype(), a.device());
  detail::backend_of(a).matmul(out, a, b, bias, activation);
  return out;
}

// A 2-d tensor seen as a batch of one, without autograd.
Tensor as_batch(const Tensor& m) {
  return detail::alias(m, {1, m.size(0), m.size(1)}, {0, m.stride(0), m.stride(1)},
                       m.storage_offset());
}

// True for a matrix stored transposed: the view t() gives of a contiguous one (a Linear layer's
// weight.t()). Its gradient is computed transposed too, (g^T a)^T instead of a^T g, so that it
// reaches the contiguous matrix contiguous: the fused kernels that consume it (Gaussian sampling,
// optimizer updates) then run their vectorized path instead of a strided one.
bool is_transposed_contiguous(const Tensor& m) {
  return m.size(0) > 1 && m.size(1) > 1 && m.stride(0) == 1 && m.stride(1) == m.size(0);
}

// From how many rows of a (the inner dimension of a^T g) a transposed-stored b's gradient is
// computed in the wide orientation and copied into b's layout. A Linear(128, 384) on 2048 rows
// gained 8% so; the first layer of an MLP 784-1200-... on a batch of 128 lost 5% of its whole
// training step to the copy (which costs as much as a product over some hundred rows).
constexpr int64_t kWideGradientMinRows = 512;

// dL/da = g b^T and dL/db = a^T g for out = a @ b (2-d), each in the layout of its operand
// (transposed views: the GEMM reads them without copies). Undefined where not needed.
std::pair<Tensor, Tensor> mm_grads(const Tensor& a, const Tensor& b, const Tensor& g, bool need_a,
                                   bool need_b) {
  Tensor grad_a, grad_b;
  if (need_a) grad_a = is_transposed_contiguous(a) ? b.mm(g.t()).t() : g.mm(b.t());
  if (need_b) {
    grad_b = !is_transposed_contiguous(b) ? a.t().mm(g)
             : b.size(1) > b.size(0) && a.size(0) >= kWideGradientMinRows
                 // The wide orientation keeps the GEMM's columns full (a [128, 384] product
                 // rather than [384, 128]); the transposing copy is one pass over the gradient,
                 // small beside a product over many rows.
                 ? a.t().mm(g).t().contiguous().t()
                 : g.t().mm(a).t();
  }
  return {grad_a, grad_b};
}

// dL/da = g b^T and dL/db = a^T g for out = bmm(a, b).
std::pair<Tensor, Tensor> bmm_grads(const Tensor& a, const Tensor& b, const Tensor& g, bool need_a,
                                    bool need_b) {
  return {need_a ? g.bmm(b.transpose(1, 2)) : Tensor(),
          need_b ? a.transpose(1, 2).bmm(g) : Tensor()};
}

// Checks the input of addmm or baddbmm against the product's shape, dtype and device.
void check_addend(const char* op, const Tensor& input, const Tensor& first, const Shape& product) {
  detail::check_defined(op, input);
  detail::check_same_device(op, input, first);
  BG_CHECK(input.dtype() == first.dtype(), op, "expected an input of the operands' dtype ",
           dtype_name(first.dtype()), ", got ", describe(input));
  bool broadcasts = input.dim() <= static_cast<int64_t>(product.size());
  for (int64_t i = 1; broadcasts && i <= input.dim(); ++i) {
    const int64_t size = input.size(-i);
    broadcasts = size == 1 || size == product[product.size() - static_cast<size_t>(i)];
  }
  BG_CHECK(broadcasts, op, "the input ", describe(input),
           " does not broadcast to the product's shape ", shape_str(product));
}

// beta * input + alpha * product (addmm, baddbmm, when beta or alpha is not 1). With beta = 0 the
// input is not read, as in PyTorch, so its NaN and inf do not reach the result.
Tensor scaled_sum(const Tensor& input, const Tensor& product, const Scalar& beta,
                  const Scalar& alpha) {
  const Tensor scaled_product = alpha.to<double>() == 1.0 ? product : product * alpha;
  if (beta.to<double>() == 0.0) return scaled_product;
  return (beta.to<double>() == 1.0 ? input : input * beta) + scaled_product;
}

bool is_one(const Scalar& s) { return s.to<double>() == 1.0; }

// activation(input + mat1 @ mat2), the input added in the GEMM's epilogue and the activation
// applied after it (addmm and addmm_relu), without autograd.
Tensor addmm_in_epilogue(const char* op, const Tensor& input, const Tensor& mat1,
                         const Tensor& mat2, MatmulActivation activation) {
  detail::check_defined(op, input);
  check_operands(op, mat1, mat2);
  BG_CHECK(mat1.dim() == 2 && mat2.dim() == 2 && mat1.size(1) == mat2.size(0), op,
           "cannot multiply ", describe(mat1), " by ", describe(mat2),
           " (expected [M, K] and [K, N] matrices)");
  const Shape sizes{mat1.size(0), mat2.size(1)};
  check_addend(op, input, mat1, sizes);
  const Tensor product =
      batched_product(op, as_batch(mat1), as_batch(mat2),
                      detail::broadcast_to(input, {1, sizes[0], sizes[1]}), activation);
  return detail::alias(product, sizes, {sizes[1], 1}, 0);
}

// activation(input + bmm(batch1, batch2)) as addmm_in_epilogue (baddbmm and baddbmm_relu).
Tensor baddbmm_in_epilogue(const char* op, const Tensor& input, const Tensor& batch1,
                           const Tensor& batch2, MatmulActivation activation) {
  detail::check_defined(op, input);
  check_operands(op, batch1, batch2);
  BG_CHECK(batch1.dim() == 3 && batch2.dim() == 3 && batch1.size(0) == batch2.size(0) &&
               batch1.size(2) == batch2.size(1),
           op, "cannot multiply ", describe(batch1), " by ", describe(batch2),
           " (expected [B, M, K] and [B, K, N] batches)");
  const Shape sizes{batch1.size(0), batch1.size(1), batch2.size(2)};
  check_addend(op, input, batch1, sizes);
  return batched_product(op, batch1, batch2, detail::broadcast_to(input, sizes), activation);
}

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  check_operands("mm", a, b);
  BG_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0), "mm", "cannot multiply ",
           describe(a), " by ", describe(b), " (expected [M, K] and [K, N] matrices)");
  const Tensor product = batched_product("mm", as_batch(a), as_batch(b));
  Tensor out = detail::alias(product, {a.size(0), b.size(1)}, {b.size(1), 1}, 0);
  autograd::record(out, "MmBackward", {a, b}, {a, b}, false,
                   [](const Context& c, const Tensor& g) -> Grads {
                     auto [grad_a, grad_b] =
                         mm_grads(c.saved(0), c.saved(1), g, c.needs_grad(0), c.needs_grad(1));
                     return {grad_a, grad_b};
                   });
  return out;
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_operands("bmm", a, b);
  BG_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1), "bmm",
           "cannot multiply ", describe(a), " by ", describe(b),
           " (expected [B, M, K] and [B, K, N] batches)");
  Tensor out = batched_product("bmm", a, b);
  autograd::record(out, "BmmBackward", {a, b}, {a, b}, false,
                   [](const Context& c, const Tensor& g) -> Grads {
                     auto [grad_a, grad_b] =
                         bmm_grads(c.saved(0), c.saved(1), g, c.needs_grad(0), c.needs_grad(1));
                     return {grad_a, grad_b};
                   });
  return out;
}

// With beta = alpha = 1 (a Linear layer's bias), the input is added in the GEMM's epilogue: one
// kernel, no second pass over the output. Its gradient is the output's, which the engine sums down
// to the input's shape (Note [Broadcast backward]).
Tensor addmm(const Tensor& input, const Tensor& mat1, const Tensor& mat2, const Scalar& beta,
             const Scalar& alpha) {
  detail::check_defined("addmm", input);
  if (!is_one(beta) || !is_one(alpha)) {
    const Tensor product = mm(mat1, mat2);
    check_addend("addmm", input, product, product.sizes());
    return scaled_sum(input, product, beta, alpha);
  }
  Tensor out = addmm_in_epilogue("addmm", input, mat1, mat2, MatmulActivation::None);
  autograd::record(out, "AddmmBackward", {input, mat1, mat2}, {mat1, mat2}, false,
                   [](const Context& c, const Tensor& g) -> Grads {
                     auto [grad_a, grad_b] =
                         mm_grads(c.saved(0), c.saved(1), g, c.needs_grad(1), c.needs_grad(2));
                     return {c.needs_grad(0) ? g : Tensor(), grad_a, grad_b};
                   });
  return out;
}

// As addmm: the input in the epilogue when beta = alpha = 1.
Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, const Scalar& beta,
               const Scalar& alpha) {
  detail::check_defined("baddbmm", input);
  if (!is_one(beta) || !is_one(alpha)) {
    const Tensor product = bmm(batch1, batch2);
    check_addend("baddbmm", input, product, product.sizes());
    return scaled_sum(input, product, beta, alpha);
  }
  Tensor out = baddbmm_in_epilogue("baddbmm", input, batch1, batch2, MatmulActivation::None);
  autograd::record(out, "BaddbmmBackward", {input, batch1, batch2}, {batch1, batch2}, false,
                   [](const Context& c, const Tensor& g) -> Grads {
                     auto [grad_a, grad_b] =
                         bmm_grads(c.saved(0), c.saved(1), g, c.needs_grad(1), c.needs_grad(2));
                     return {c.needs_grad(0) ? g : Tensor(), grad_a, grad_b};
                   });
  return out;
}

// One node for the GEMM and its ReLU, which saves the output rather than the pre-activation: the
// incoming gradient masked as ReLU's backward masks it, then addmm's backward.
Tensor addmm_relu(const Tensor& input, const Tensor& mat1, const Tensor& mat2) {
  Tensor out = addmm_in_epilogue("addmm_relu", input, mat1, mat2, MatmulActivation::Relu);
  autograd::record(out, "AddmmReluBackward", {input, mat1, mat2}, {mat1, mat2}, true,
                   [](const Context& c, const Tensor& g) -> Grads {
                     // ReLU's own backward: the bits of the composition's gradients.
                     const Tensor masked = relu_backward(g, c.output());
                     auto [grad_a, grad_b] =
                         mm_grads(c.saved(0), c.saved(1), masked, c.needs_grad(1), c.needs_grad(2));
                     return {c.needs_grad(0) ? masked : Tensor(), grad_a, grad_b};
                   });
  return out;
}

// As addmm_relu, for batches.
Tensor baddbmm_relu(const Tensor& input, const Tensor& batch1, const Tensor& batch2) {
  Tensor out = baddbmm_in_epilogue("baddbmm_relu", input, batch1, batch2, MatmulActivation::Relu);
  autograd::record(out, "BaddbmmReluBackward", {input, batch1, batch2}, {batch1, batch2}, true,
                   [](const Context& c, const Tensor& g) -> Grads {
                     // ReLU's own backward: the bits of the composition's gradients.
                     const Tensor masked = relu_backward(g, c.output());
                     auto [grad_a, grad_b] = bmm_grads(c.saved(0), c.saved(1), masked,
                                                       c.needs_grad(1), c.needs_grad(2));
                     return {c.needs_grad(0) ? masked : Tensor(), grad_a, grad_b};
                   });
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_operands("matmul", a, b);
  BG_CHECK(a.dim() > 0 && b.dim() > 0, "matmul", "both operands need at least 1 dim, got ",
           describe(a), " and ", describe(b));
  const int64_t k_a = a.size(-1), k_b = b.dim() == 1 ? b.size(0) : b.size(-2);
  BG_CHECK(k_a == k_b, "matmul", "cannot multiply ", describe(a), " by ", describe(b),
           " (inner sizes ", k_a, " and ", k_b, " differ)");
  if (a.dim() == 1 && b.dim() == 1) return a.unsqueeze(0).mm(b.unsqueeze(1)).reshape({});
  if (a.dim() == 2 && b.dim() == 2) return a.mm(b);
  if (a.dim() == 1 && b.dim() == 2) return a.unsqueeze(0).mm(b).squeeze(0);
  // Sizes are folded by their product, not by -1, which an empty batch leaves undetermined.
  if (b.dim() == 1) {
    // [..., M, K] @ [K]: fold every leading dim into the rows.
    Shape out_sizes(a.sizes().begin(), a.sizes().end() - 1);
    return a.reshape({numel_of(out_sizes), k_a}).mm(b.unsqueeze(1)).reshape(out_sizes);
  }
  if (b.dim() == 2) {
    // [..., M, K] @ [K, N] (e.g. a Linear layer on a batch of sequences): one large product.
    Shape out_sizes(a.sizes().begin(), a.sizes().end() - 1);
    const Tensor rows = a.dim() == 1 ? a.unsqueeze(0) : a.reshape({numel_of(out_sizes), k_a});
    out_sizes.push_back(b.size(1));
    return rows.mm(b).reshape(out_sizes);
  }
  // Batched: broadcast the batch dims, then one bmm. Broadcast batches keep stride 0 (no copy).
  const Tensor lhs = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Shape batch_a(lhs.sizes().begin(), lhs.sizes().end() - 2);
  const Shape batch_b(b.sizes().begin(), b.sizes().end() - 2);
  // Checked here so that the message names the operands, not just their batch dims.
  for (size_t i = 1; i <= std::min(batch_a.size(), batch_b.size()); ++i) {
    const int64_t size_a = batch_a[batch_a.size() - i], size_b = batch_b[batch_b.size() - i];
    BG_CHECK(size_a == size_b || size_a == 1 || size_b == 1, "matmul", "cannot multiply ",
             describe(a), " by ", describe(b), " (batch dims ", shape_str(batch_a), " and ",
             shape_str(batch_b), " do not broadcast)");
  }
  Shape batch = broadcast_shapes("matmul", batch_a, batch_b);
  const int64_t m = lhs.size(-2), n = b.size(-1);
  Shape lhs_sizes = batch, rhs_sizes = batch;
  lhs_sizes.insert(lhs_sizes.end(), {m, k_a});
  rhs_sizes.insert(rhs_sizes.end(), {k_a, n});
  const Tensor product = lhs.expand(lhs_sizes)
                             .reshape({numel_of(batch), m, k_a})
                             .bmm(b.expand(rhs_sizes).reshape({numel_of(batch), k_a, n}));
  Shape out_sizes = batch;
  if (a.dim() > 1) out_sizes.push_back(m);
  out_sizes.push_back(n);
  return product.reshape(out_sizes);
}

}  // namespace bg
