// Fused kernels of the Transformer's ops on the CPU (transformer_kernels.def): layer normalization
// forward and backward, and softmax's backward, one row at a time with Eigen's vectorized array
// expressions (no temporaries: each row is read a few times from cache, written once). Rows are
// split across threads in fixed blocks (Note [Deterministic chunks]); the sums over rows of the
// layer norm's weight and bias gradients are taken per block and combined in block order.

#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

template <typename T>
using Row = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using ConstRow = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

template <typename T>
T* data(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.impl()->data()) : nullptr;
}

// Rows per block of the row loops: the unit of work of a thread, and of the partial sums of the
// weight and bias gradients.
constexpr int64_t kRowBlock = 64;

// Calls fn(first_row, end_row, block) for each block of kRowBlock rows of `rows`.
template <typename Fn>
void for_row_blocks(int64_t rows, int64_t row_elements, const Fn& fn) {
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  const int64_t grain =
      std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(kRowBlock * row_elements, 1));
  parallel_for(blocks, grain, [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      fn(block * kRowBlock, std::min(rows, (block + 1) * kRowBlock), block);
    }
  });
}

template <typename T>
void layer_norm_forward(const Tensor& out, const Tensor& mean, const Tensor& rstd,
                        const Tensor& input, const Tensor& weight, const Tensor& bias, T eps) {
  const int64_t R = input.size(0), C = input.size(1);
  const T* w = data<T>(weight);
  const T* b = data<T>(bias);
  for_row_blocks(R, C, [&](int64_t first, int64_t end, int64_t) {
    for (int64_t r = first; r < end; ++r) {
      const ConstRow<T> x(data<T>(input) + r * C, C);
      // Two passes over the row (in cache): the mean, then the variance about it.
      const T m = x.mean();
      const T rs = T(1) / std::sqrt((x - m).square().mean() + eps);
      data<T>(mean)[r] = m;
      data<T>(rstd)[r] = rs;
      Row<T> y(data<T>(out) + r * C, C);
      if (w != nullptr && b != nullptr) {
        y = (x - m) * rs * ConstRow<T>(w, C) + ConstRow<T>(b, C);
      } else if (w != nullptr) {
        y = (x - m) * rs * ConstRow<T>(w, C);
      } else if (b != nullptr) {
        y = (x - m) * rs + ConstRow<T>(b, C);
      } else {
        y = (x - m) * rs;
      }
    }
  });
}

template <typename T>
void layer_norm_backward_rows(const Tensor& grad_input, const Tensor& grad_weight,
                              const Tensor& grad_bias, const Tensor& grad_out, const Tensor& input,
                              const Tensor& mean, const Tensor& rstd, const Tensor& weight) {
  const int64_t R = input.size(0), C = input.size(1);
  const int64_t blocks = (R + kRowBlock - 1) / kRowBlock;
  // Per block: the block's sums of grad_out * xhat (weight) and grad_out (bias).
  std::vector<T> weight_sums(grad_weight.defined() ? static_cast<size_t>(blocks * C) : 0, T(0));
  std::vector<T> bias_sums(grad_bias.defined() ? static_cast<size_t>(blocks * C) : 0, T(0));
  const T* w = data<T>(weight);
  const T inv_C = T(1) / static_cast<T>(C);
  for_row_blocks(R, 2 * C, [&](int64_t first, int64_t end, int64_t block) {
    for (int64_t r = first; r < end; ++r) {
      const ConstRow<T> x(data<T>(input) + r * C, C), g(data<T>(grad_out) + r * C, C);
      const T m = data<T>(mean)[r], rs = data<T>(rstd)[r];
      const auto xhat = (x - m) * rs;
      Row<T> gi(data<T>(grad_input) + r * C, C);
      if (w != nullptr) {
        const ConstRow<T> wr(w, C);
        const T a = (g * wr).sum() * inv_C, c = (g * wr * xhat).sum() * inv_C;
        gi = rs * (g * wr - a - xhat * c);
      } else {
        const T a = g.sum() * inv_C, c = (g * xhat).sum() * inv_C;
        gi = rs * (g - a - xhat * c);
      }
      if (!weight_sums.empty()) Row<T>(weight_sums.data() + block * C, C) += g * xhat;
      if (!bias_sums.empty()) Row<T>(bias_sums.data() + block * C, C) += g;
    }
  });
  // The blocks' sums, in block order.
  const auto combine = [&](const std::vector<T>& sums, const Tensor& total) {
    if (sums.empty()) return;
    Row<T> out(data<T>(total), C);
    out.setZero();
    for (int64_t block = 0; block < blocks; ++block) out += ConstRow<T>(sums.data() + block * C, C);
  };
  combine(weight_sums, grad_weight);
  combine(bias_sums, grad_bias);
}

template <typename T>
void softmax_backward_rows(const Tensor& grad_input, const Tensor& grad_output,
                           const Tensor& output) {
  const int64_t C = output.size(-1), R = output.numel() / std::max<int64_t>(C, 1);
  for_row_blocks(R, C, [&](int64_t first, int64_t end, int64_t) {
    for (int64_t r = first; r < end; ++r) {
      const ConstRow<T> y(data<T>(output) + r * C, C), g(data<T>(grad_output) + r * C, C);
      const T dot = (g * y).sum();
      Row<T>(data<T>(grad_input) + r * C, C) = y * (g - dot);
    }
  });
}

}  // namespace

void CpuBackend::layer_norm(const Tensor& out, const Tensor& mean, const Tensor& rstd,
                            const Tensor& input, const Tensor& weight, const Tensor& bias,
                            double eps) {
  dispatch_floating(input.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    layer_norm_forward<T>(out, mean, rstd, input, weight, bias, static_cast<T>(eps));
  });
}

void CpuBackend::layer_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                                     const Tensor& grad_bias, const Tensor& grad_out,
                                     const Tensor& input, const Tensor& mean, const Tensor& rstd,
                                     const Tensor& weight) {
  dispatch_floating(input.dtype(), "layer_norm_backward", [&](auto tag) {
    layer_norm_backward_rows<decltype(tag)>(grad_input, grad_weight, grad_bias, grad_out, input,
                                            mean, rstd, weight);
  });
}

void CpuBackend::softmax_backward(const Tensor& grad_input, const Tensor& grad_output,
                                  const Tensor& output) {
  dispatch_floating(output.dtype(), "softmax_backward", [&](auto tag) {
    softmax_backward_rows<decltype(tag)>(grad_input, grad_output, output);
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
