#pragma once
// Tensor operations as free functions. All differentiable ones record themselves for autograd.
//
// Binary ops broadcast with numpy's rules and promote dtypes as PyTorch does
// (bool < int64 < float32 < float64; a number operand does not widen a tensor of its category).

#include <optional>
#include <vector>

#include "bg/core/api.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg {

// ---- Arithmetic ---------------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);  ///< a + alpha * b
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha = 1);  ///< a - alpha * b
Tensor mul(const Tensor& a, const Tensor& b);
/// True division: integer operands give a float32 result.
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& base, const Tensor& exponent);
Tensor pow(const Tensor& base, const Scalar& exponent);
Tensor pow(const Scalar& base, const Tensor& exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, const Scalar& b);
Tensor operator+(const Scalar& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Scalar& b);
Tensor operator-(const Scalar& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Scalar& b);
Tensor operator*(const Scalar& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Scalar& b);
Tensor operator/(const Scalar& a, const Tensor& b);
Tensor operator-(const Tensor& a);

// ---- Comparison and logic (bool results, not differentiable) ------------------------------------
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, const Scalar& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Scalar& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Scalar& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Scalar& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Scalar& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Scalar& b);
/// True where the element is NaN.
Tensor isnan(const Tensor& a);
/// x with `value` where mask (bool, broadcast with x) is true; the result has the broadcast shape
/// and x's dtype (value is converted to it).
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value);
/// masked_fill with a 0-dim tensor `value`, which receives the gradient of the filled positions.
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);
/// The lower triangle of the matrices in the last two dims of x (elements whose column - row <=
/// diagonal), zeros above it. diagonal > 0 keeps diagonals above the main one, < 0 drops some.
Tensor tril(const Tensor& x, int64_t diagonal = 0);
/// The upper triangle (column - row >= diagonal) of the matrices in the last two dims of x.
Tensor triu(const Tensor& x, int64_t diagonal = 0);
/// cond ? a : b, elementwise with broadcasting.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& cond, const Tensor& a, const Scalar& b);
Tensor where(const Tensor& cond, const Scalar& a, const Tensor& b);

// ---- Elementwise math ---------------------------------------------------------------------------
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor erf(const Tensor& x);
Tensor relu(const Tensor& x);
/// ReLU's gradient from its output: `grad` where `output` > 0, else 0, in one pass (PyTorch's
/// threshold_backward; what relu's and addmm_relu's backward passes compute). Differentiable in
/// grad.
Tensor relu_backward(const Tensor& grad, const Tensor& output);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor elu(const Tensor& x, double alpha = 1.0);
/// The exact GELU, x * Phi(x).
Tensor gelu(const Tensor& x);
Tensor silu(const Tensor& x);
/// log(1 + exp(beta x)) / beta, computed without overflow for any x; x itself where beta x >
/// threshold.
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// Clamps to [min, max]; either bound may be omitted.
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max);
Tensor clamp_min(const Tensor& x, const Scalar& min);
Tensor clamp_max(const Tensor& x, const Scalar& max);

// ---- Reductions (an empty dim list means every dim) ---------------------------------------------
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor prod(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor max(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor min(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor var(const Tensor& x, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const Dims& dims = {}, int64_t correction = 1, bool keepdim = false);
/// log(sum(exp(x))) over dims, without overflow.
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor norm(const Tensor& x, double p = 2.0, const Dims& dims = {}, bool keepdim = false);
/// exp(x) / sum(exp(x)) along `dim`, with the max subtracted first. As in PyTorch, a slice whose
/// elements are all -inf (a fully masked attention row) gives NaN, not zeros or a uniform row.
Tensor softmax(const Tensor& x, int64_t dim);
/// log(softmax(x)) along `dim` without overflow; NaN for an all -inf slice, as in PyTorch.
Tensor log_softmax(const Tensor& x, int64_t dim);
/// Sums `x` down to `sizes`, the inverse of broadcasting `sizes` up to x's shape.
Tensor sum_to(const Tensor& x, const Shape& sizes);

// ---- Linear algebra -----------------------------------------------------------------------------
/// numpy's matmul: 1-d (dot), 2-d, and batched with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
/// [M, K] x [K, N].
Tensor mm(const Tensor& a, const Tensor& b);
/// [B, M, K] x [B, K, N].
Tensor bmm(const Tensor& a, const Tensor& b);
/// beta * input + alpha * (mat1 @ mat2) for mat1 [M, K], mat2 [K, N] and input broadcastable to
/// [M, N]. With beta = alpha = 1 (a bias, as in linear) the input is added in the GEMM's epilogue,
/// one kernel with the bits of mat1 @ mat2 + input. With beta = 0 the input is ignored (its NaN and
/// inf do not propagate), as in PyTorch.
Tensor addmm(const Tensor& input, const Tensor& mat1, const Tensor& mat2, const Scalar& beta = 1,
             const Scalar& alpha = 1);
/// beta * input + alpha * bmm(batch1, batch2) for batch1 [B, M, K], batch2 [B, K, N] and input
/// broadcastable to [B, M, N] (e.g. an attention mask [M, N] added to the scores); in the GEMM's
/// epilogue when beta = alpha = 1, as addmm.
Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2,
               const Scalar& beta = 1, const Scalar& alpha = 1);
/// relu(input + mat1 @ mat2) as addmm with beta = alpha = 1, the ReLU applied in the GEMM's
/// epilogue too: one kernel and one autograd node (which saves the output, not the
/// pre-activation), with the bits of addmm(...).relu() and of its gradients.
Tensor addmm_relu(const Tensor& input, const Tensor& mat1, const Tensor& mat2);
/// relu(input + bmm(batch1, batch2)) in one kernel, as addmm_relu for batches.
Tensor baddbmm_relu(const Tensor& input, const Tensor& batch1, const Tensor& batch2);

// ---- Views --------------------------------------------------------------------------------------
Tensor view(const Tensor& x, const Shape& sizes);
Tensor reshape(const Tensor& x, const Shape& sizes);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes);
Tensor permute(const Tensor& x, const Shape& dims);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor t(const Tensor& x);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor expand(const Tensor& x, const Shape& sizes);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& x, int64_t dim, int64_t index);

// ---- Indexing and joining -----------------------------------------------------------------------
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// x with source.select(dim, i) added at x.select(dim, index[i]) (out of place).
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// x with src[p] added at p with p[dim] replaced by index[p] (out of place).
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// The elements where mask (broadcast with x) is true, as a 1-d tensor.
Tensor masked_select(const Tensor& x, const Tensor& mask);
/// Indices of the nonzero elements, [count, x.dim()] int64.
Tensor nonzero(const Tensor& x);
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// Views of consecutive pieces of `split_size` along `dim` (the last one may be shorter).
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
/// Views of consecutive pieces of the given sizes along `dim`; the sizes must add up to its size.
std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& split_sizes,
                                     int64_t dim = 0);
/// At most `chunks` views of equal size ceil(size / chunks) along `dim` (the last may be shorter).
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
/// The slices select(dim, i) for every i: a [T, B, H] sequence as T tensors [B, H].
std::vector<Tensor> unbind(const Tensor& x, int64_t dim = 0);

// ---- Conversion ---------------------------------------------------------------------------------
Tensor clone(const Tensor& x);
/// True when every element of a and b (same shape) is within atol + rtol * |b|.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
/// True when a and b have the same shape and elements (and dtype).
bool equal(const Tensor& a, const Tensor& b);

}  // namespace bg

BG_API_END
