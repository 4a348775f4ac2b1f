#pragma once
// The backend interface: the small set of primitive kernels a device must provide.
//
// Frontend ops (ops/*.cpp) check their arguments, promote dtypes, broadcast operands into
// zero-stride views, allocate the output and call one of these kernels; backward formulas are
// Tensor ops, so a backend that implements this list gets training for free. Kernels may assume
// what the frontend guarantees: operands are on the backend's device, shapes already agree, dtypes
// are the ones documented per kernel. Inputs may be strided views (zero strides included); outputs
// are contiguous unless a kernel says otherwise.
//
// Backends live in a plain table indexed by DeviceType, filled explicitly (register_backend), not
// by static initializers.

#include <cstdint>
#include <vector>

#include "bg/core/device.h"
#include "bg/core/fused.h"
#include "bg/core/scalar.h"
#include "bg/core/storage.h"
#include "bg/core/tensor.h"

namespace bg {

enum class UnaryOp : uint8_t {
  // Any dtype but bool (out has the input's dtype):
  Neg,
  Abs,
  Sign,
  // Float32/float64 only:
  Exp,
  Log,
  Log1p,
  Expm1,
  Sqrt,
  Rsqrt,
  Sin,
  Cos,
  Tanh,
  Sigmoid,
  Erf,
  Relu,
  Gelu,       // exact: x * Phi(x)
  Silu,       // x * sigmoid(x)
  Softplus,   // a = beta, b = threshold
  LeakyRelu,  // a = negative slope
  Elu,        // a = alpha
  PowScalar,  // a = exponent
  // Any dtype but bool: clamp to [a, b] (either may be +-infinity).
  Clamp,
  // Bool in, bool out.
  LogicalNot,
};

/// Numbers some unary ops take (see UnaryOp).
struct UnaryParams {
  double a = 0.0;
  double b = 0.0;
};

enum class BinaryOp : uint8_t {
  // Out has the inputs' dtype:
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Maximum,
  Minimum,
  // Out is bool:
  Eq,
  Ne,
  Lt,
  Le,
  Gt,
  Ge,
  LogicalAnd,
  LogicalOr,
};

enum class ReduceOp : uint8_t { Sum, Prod, Max, Min };
enum class ArgReduceOp : uint8_t { Argmax, Argmin };
enum class RandomOp : uint8_t {
  Uniform,  // U[a, b)
  Normal,   // N(a, b^2)
  Randint,  // integers in [a, b)
};

/// How many values one Philox block (four 32-bit words) gives for a random fill of `dtype`
/// (see random.h): backends must lay numbers out identically so seeds mean the same everywhere.
constexpr int64_t values_per_block(RandomOp op, Dtype dtype) {
  if (op == RandomOp::Randint) return 2;  // 64 bits per integer
  return dtype == kFloat64 ? 2 : 4;
}

class Backend {
 public:
  virtual ~Backend() = default;
  /// The allocator for memory on `device` (a device of this backend's type).
  virtual Allocator& allocator(Device device) = 0;

  /// out[...] = value. `out` may be strided.
  virtual void fill(const Tensor& out, const Scalar& value) = 0;
  /// dst[...] = src[...] cast to dst's dtype; same sizes; `dst` may be strided. One of the two may
  /// live on the CPU when the other is on this backend's device (host <-> device copies).
  virtual void copy(const Tensor& dst, const Tensor& src) = 0;
  /// out = op(in), same sizes. `out` may be strided (in-place ops pass out == in).
  virtual void unary(UnaryOp op, const Tensor& out, const Tensor& in,
                     const UnaryParams& params) = 0;
  /// out = op(a, b); a and b have out's sizes (broadcast as zero strides) and the same dtype.
  /// `out` may be strided (in-place ops).
  virtual void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) = 0;
  /// out = cond ? a : b; cond is bool; all have out's sizes.
  virtual void where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) = 0;
  /// Reduces `in` over `dims` (sorted, non-empty) into `out`, which has in's sizes with those dims
  /// set to 1. Sums of float32 accumulate in float64. Max and Min propagate NaN.
  virtual void reduce(ReduceOp op, const Tensor& out, const Tensor& in,
                      const std::vector<int64_t>& dims) = 0;
  /// Index (int64) of the first largest/smallest element along `dim`; out has in's sizes with `dim`
  /// set to 1. NaN counts as the largest and the smallest.
  virtual void arg_reduce(ArgReduceOp op, const Tensor& out, const Tensor& in, int64_t dim) = 0;
  /// out[b] = a[b] @ b[b] for 3-d operands [B, M, K] x [B, K, N] -> [B, M, N], float32/float64.
  virtual void matmul(const Tensor& out, const Tensor& a, const Tensor& b) = 0;
  /// out = in.index_select(dim, index); index is 1-d int64 with valid entries.
  virtual void index_select(const Tensor& out, const Tensor& in, int64_t dim,
                            const Tensor& index) = 0;
  /// out.select(dim, index[i]) += src.select(dim, i) for each i, in order. `out` is contiguous.
  virtual void index_add(const Tensor& out, int64_t dim, const Tensor& index,
                         const Tensor& src) = 0;
  /// out[p] = in[p with p[dim] = index[p]]; index (int64) has out's sizes.
  virtual void gather(const Tensor& out, const Tensor& in, int64_t dim, const Tensor& index) = 0;
  /// out[p with p[dim] = index[p]] += src[p]; index has src's sizes. `out` is contiguous.
  virtual void scatter_add(const Tensor& out, int64_t dim, const Tensor& index,
                           const Tensor& src) = 0;
  /// Fills contiguous `out` with draws of Philox(seed) starting at counter `offset` (see random.h
  /// for the layout that makes the numbers independent of the thread count).
  virtual void random(RandomOp op, const Tensor& out, uint64_t seed, uint64_t offset, double a,
                      double b) = 0;
  /// out = softmax(in) or log_softmax(in) along `dim`, computed stably (max subtracted).
  virtual void softmax(const Tensor& out, const Tensor& in, int64_t dim, bool log) = 0;

  // ---- Sliding windows: convolution and pooling -------------------------------------------------

  /// Where the windows of a 2-d sliding-window op lie (1-d ops use height 1). Window (oh, ow), for
  /// oh < out_h and ow < out_w, reads the input rows oh * stride_h - pad_h + i * dilation_h for
  /// i < kernel_h, and the columns likewise. Positions outside the input are padding: zeros for
  /// im2col, dropped by col2im, never the maximum of max_pool2d.
  struct Window2d {
    int64_t kernel_h, kernel_w;
    int64_t stride_h, stride_w;
    int64_t pad_h, pad_w;
    int64_t dilation_h, dilation_w;
    int64_t out_h, out_w;
  };
  /// im2col: columns[n, (c, i, j), (oh, ow)] = input[n, c, row, col] of element (i, j) of window
  /// (oh, ow), 0 in the padding. `input` is [N, C, H, W]; `columns` is [N, C * kh * kw, out_h *
  /// out_w] with stride 1 along its last dim (its other strides are free).
  virtual void im2col(const Tensor& columns, const Tensor& input, const Window2d& window) = 0;
  /// col2im, the adjoint of im2col: contiguous `out` [N, C, H, W] = the sum, at each input
  /// position, of the column elements im2col would take from it; `columns` may be strided.
  virtual void col2im(const Tensor& out, const Tensor& columns, const Window2d& window) = 0;
  /// Max over each window of `input` [N, C, H, W] into contiguous `out` [N, C, out_h, out_w], and
  /// into `indices` (int64, same sizes) the position h * W + w of the first maximum of the window
  /// (NaN counts as the largest). Every window holds at least one input position.
  virtual void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input,
                          const Window2d& window) = 0;

  // ---- Fused Gaussian variational ops (fused_gaussian.h) ----------------------------------------

  /// out = mu + softplus(rho) * eps; all operands have out's sizes and dtype (any strides).
  virtual void gaussian_sample(const Tensor& out, const Tensor& mu, const Tensor& rho,
                               const Tensor& eps) = 0;
  /// grad_rho = grad * eps * sigmoid(rho): the rho-gradient of gaussian_sample.
  virtual void gaussian_sample_backward(const Tensor& grad_rho, const Tensor& grad,
                                        const Tensor& rho, const Tensor& eps) = 0;
  /// out (0-d) = the summed KL of fused::gaussian_kl; prior_mu and prior_sigma arrive broadcast
  /// to mu's sizes (zero strides). Accumulates in float64 in fixed chunks.
  virtual void gaussian_kl(const Tensor& out, const Tensor& mu, const Tensor& rho,
                           const Tensor& prior_mu, const Tensor& prior_sigma) = 0;
  /// grad_mu = g (mu - prior_mu) / prior_sigma^2 and grad_rho = g (s / prior_sigma^2 - 1/s)
  /// sigmoid(rho), s = softplus(rho), for the 0-d upstream gradient g.
  virtual void gaussian_kl_backward(const Tensor& grad_mu, const Tensor& grad_rho,
                                    const Tensor& grad, const Tensor& mu, const Tensor& rho,
                                    const Tensor& prior_mu, const Tensor& prior_sigma) = 0;

  // ---- Fused optimizer updates ------------------------------------------------------------------

  // One optimizer step for one parameter, in place, with the update rule fused.h describes. The
  // frontend has checked that every operand the hyperparameters call for is defined with the
  // parameter's sizes, dtype (float32 or float64) and device, and that the tensors written share
  // no memory; operands the hyperparameters leave unused are undefined. Any strides.

  /// SGD (fused::sgd_step); `momentum_buffer` is undefined without momentum.
  virtual void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                          const fused::SgdHyper& hyper) = 0;
  /// Adam and AdamW (fused::adam_step); `max_exp_avg_sq` is undefined without amsgrad.
  virtual void adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                           const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                           const fused::AdamHyper& hyper) = 0;
  /// RMSprop (fused::rmsprop_step); `momentum_buffer` is undefined without momentum, `grad_avg`
  /// unless centered.
  virtual void rmsprop_update(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                              const Tensor& momentum_buffer, const Tensor& grad_avg,
                              const fused::RmspropHyper& hyper) = 0;
  /// Adagrad (fused::adagrad_step).
  virtual void adagrad_update(const Tensor& param, const Tensor& grad, const Tensor& sum,
                              const fused::AdagradHyper& hyper) = 0;
};

// ---- Helpers shared by the backends' reduction kernels ------------------------------------------

/// A reduction's input as a contiguous [A, R, C] block: A kept positions before, R reduced
/// positions, C kept positions after.
struct ReductionBlock {
  Tensor data;
  int64_t A = 1, R = 1, C = 1;
};
/// `in` as a ReductionBlock for a reduction over `dims` (sorted, non-empty): `in` itself when it is
/// contiguous and the dims are adjacent, else a copy on in's device with the kept dims first and
/// the reduced dims last (C = 1).
ReductionBlock reduction_block(const Tensor& in, const std::vector<int64_t>& dims);
/// When `dims` form separate runs over a contiguous `in` (a convolution's bias gradient sums dims
/// 0, 2 and 3), reduces the innermost run into a smaller contiguous tensor, then the other dims of
/// that, both through `backend.reduce`, and returns true: every step is then a contiguous block,
/// with no transposing copy. Returns false, doing nothing, in every other case.
bool reduce_separate_runs(Backend& backend, ReduceOp op, const Tensor& out, const Tensor& in,
                          const std::vector<int64_t>& dims);

/// The backend of a device type; throws if there is none (CUDA not built, or no GPU present).
Backend& backend(DeviceType type);
/// Installs the backend for a device type (the CPU backend is installed on first use).
void register_backend(DeviceType type, Backend* backend);

}  // namespace bg
