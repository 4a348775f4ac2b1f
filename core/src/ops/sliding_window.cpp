// The geometry and the memory-moving primitives the sliding-window ops share (sliding_window.h).

#include "ops/sliding_window.h"

#include "bg/core/autograd/node.h"
#include "ops/op_utils.h"

namespace bg::detail {

using autograd::Context;
using autograd::Grads;

namespace {

// x / y rounded toward negative infinity, for y > 0 (PyTorch's output-size formulas round so).
int64_t floor_div(int64_t x, int64_t y) { return x >= 0 ? x / y : -((-x + y - 1) / y); }

}  // namespace

int64_t window_count(int64_t size, const Axis& a, bool ceil_mode) {
  const int64_t room = size + 2 * a.padding - a.span() + (ceil_mode ? a.stride - 1 : 0);
  int64_t count = floor_div(room, a.stride) + 1;
  if (ceil_mode && count > 0 && (count - 1) * a.stride >= size + a.padding) --count;
  return count;
}

Tensor as_image(const Op& op, const Tensor& input) {
  detail::check_defined(op.name, input);
  BG_CHECK(input.dim() == op.spatial + 1 || input.dim() == op.spatial + 2, op.name,
           "expected an input ", op.layouts(), ", got ", describe(input));
  const Tensor batched = input.dim() == op.spatial + 1 ? input.unsqueeze(0) : input;
  return op.spatial == 1 ? batched.unsqueeze(2) : batched;
}

Tensor from_image(const Op& op, const Tensor& out, const Tensor& input) {
  const Tensor batched = op.spatial == 1 ? out.squeeze(2) : out;
  return input.dim() == op.spatial + 1 ? batched.squeeze(0) : batched;
}

Tensor col2im(const Tensor& columns, int64_t H, int64_t W, const Window2d& window) {
  const int64_t N = columns.size(0), C = columns.size(1) / (window.kernel_h * window.kernel_w);
  Tensor out = detail::empty_tensor("col2im", {N, C, H, W}, columns.dtype(), columns.device());
  detail::backend_of(columns).col2im(out, columns, window);
  autograd::record(out, "FoldBackward", {columns}, {}, false,
                   [window](const Context&, const Tensor& g) -> Grads {
                     return {im2col(g, window, Layout::Columns)};
                   });
  return out;
}

// Note [Convolution as unfold + GEMM] (conv.cpp) explains the layouts. The row of ones, a
// constant, gets no gradient.
Tensor im2col(const Tensor& image, const Window2d& window, Layout layout) {
  const int64_t N = image.size(0), K = image.size(1) * window.kernel_h * window.kernel_w;
  const int64_t L = window.out_h * window.out_w;
  Tensor out;
  if (layout == Layout::Columns) {
    out = detail::empty_tensor("im2col", {N, K, L}, image.dtype(), image.device());
    detail::backend_of(image).im2col(out, image, window);
  } else {
    const int64_t ones = layout == Layout::RowsWithOnes ? 1 : 0;
    out = detail::empty_tensor("im2col", {K + ones, N * L}, image.dtype(), image.device());
    // The kernel sees the first K rows as columns [N, K, L]: element (n, k, l) at k N L + n L + l.
    detail::backend_of(image).im2col(detail::alias(out, {N, K, L}, {L, N * L, 1}, 0), image,
                                     window);
    if (ones) detail::backend_of(image).fill(detail::alias(out, {N * L}, {1}, K * N * L), 1);
  }
  autograd::record(
      out, "UnfoldBackward", {image}, {}, false,
      [window, layout, N, K, L, H = image.size(2), W = image.size(3)](const Context&,
                                                                      const Tensor& g) -> Grads {
        const Tensor columns =
            layout == Layout::Columns ? g : g.narrow(0, 0, K).reshape({K, N, L}).permute({1, 0, 2});
        return {col2im(columns, H, W, window)};
      });
  return out;
}

}  // namespace bg::detail
