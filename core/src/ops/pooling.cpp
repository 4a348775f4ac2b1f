// Pooling frontends: argument checks, PyTorch's output sizes and windows, autograd. Average
// pooling sums the columns of im2col (sliding_window.h); max pooling has its own kernel.

#include "bg/core/pooling.h"

#include <algorithm>
#include <vector>

#include "bg/core/autograd/node.h"
#include "bg/core/factory.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"
#include "ops/sliding_window.h"

namespace bg {

using autograd::Context;
using autograd::Grads;
using detail::as_image;
using detail::Axis;
using detail::from_image;
using detail::im2col;
using detail::Layout;
using detail::Op;
using detail::Window2d;

namespace {

// The windows of a pooling op over `image` (PyTorch's rules, ceil_mode included).
Window2d pool_window(const Op& op, const Tensor& image, const Tensor& input, bool ceil_mode) {
  op.check_axes();
  op.check_pool_padding();
  const int64_t out_h = window_count(image.size(2), op.h, ceil_mode);
  const int64_t out_w = window_count(image.size(3), op.w, ceil_mode);
  BG_CHECK(out_h > 0 && out_w > 0, op.name, "the input ", describe(input),
           " is too small for the kernel ", op.dims(&Axis::kernel), " (dilation ",
           op.dims(&Axis::dilation), ", padding ", op.dims(&Axis::padding),
           "): the output would be ", op.dims(out_h, out_w));
  return op.window(out_h, out_w);
}

// The gradient of max pooling: `grad` [N, C, OH, OW] added into zeros of `sizes` [N, C, H, W] at
// the positions `index` ([N C, OH OW], h * W + w within each plane) of the maxima. Its own
// derivative is a gather at the same positions, so second derivatives come from autograd.
Tensor scatter_to_maxima(const Tensor& grad, const Tensor& index, const Shape& sizes) {
  Tensor out = detail::empty_tensor("max_pool2d", sizes, grad.dtype(), grad.device());
  detail::backend_of(grad).fill(out, 0);
  // The indices come from the max_pool2d kernel, so they need no range check.
  detail::backend_of(grad).scatter_add(out.view({index.size(0), sizes[2] * sizes[3]}), 1, index,
                                       grad.reshape(index.sizes()));
  autograd::record(out, "MaxPool2DBackwardBackward", {grad}, {index}, false,
                   [plane = sizes[2] * sizes[3], grad_sizes = grad.sizes()](
                       const Context& c, const Tensor& gg) -> Grads {
                     const Tensor index = c.saved(0);
                     return {gg.reshape({index.size(0), plane}).gather(1, index).view(grad_sizes)};
                   });
  return out;
}

// Max pooling on an image. Backward: scatter_to_maxima.
Tensor max_pool(const Tensor& image, const Window2d& window) {
  const int64_t N = image.size(0), C = image.size(1);
  Tensor out = detail::empty_tensor("max_pool2d", {N, C, window.out_h, window.out_w}, image.dtype(),
                                    image.device());
  const Tensor indices = detail::empty_tensor("max_pool2d", out.sizes(), kInt64, image.device());
  detail::backend_of(image).max_pool2d(out, indices, image, window);
  const Tensor plane_indices = indices.view({N * C, window.out_h * window.out_w});
  autograd::record(out, "MaxPool2DBackward", {image}, {plane_indices}, false,
                   [sizes = image.sizes()](const Context& c, const Tensor& g) -> Grads {
                     return {scatter_to_maxima(g, c.saved(0), sizes)};
                   });
  return out;
}

// The divisors of average pooling along one axis (PyTorch's): for each window, the positions it
// covers inside the input padded on both sides (count_include_pad) or inside the input alone. A
// window entirely in the padding has divisor 1 (its sum is 0, so its average too).
std::vector<double> pool_divisors(int64_t size, const Axis& a, int64_t count,
                                  bool count_include_pad) {
  std::vector<double> divisors;
  for (int64_t o = 0; o < count; ++o) {
    const int64_t start = o * a.stride - a.padding;
    const int64_t end = std::min(start + a.kernel, size + a.padding);
    const int64_t inside = std::min(end, size) - std::max<int64_t>(start, 0);
    if (inside <= 0) {
      divisors.push_back(1.0);
    } else {
      divisors.push_back(static_cast<double>(count_include_pad ? end - start : inside));
    }
  }
  return divisors;
}

// avg_pool2d and avg_pool1d once the op is described (dilation 1): unfold, sum, divide.
Tensor avg_pool(const Op& op, const Tensor& input, bool ceil_mode, bool count_include_pad) {
  const Tensor image = as_image(op, input);
  detail::check_floating(op.name, input);
  const Window2d window = pool_window(op, image, input, ceil_mode);
  const int64_t N = image.size(0), C = image.size(1), L = window.out_h * window.out_w;
  const std::vector<double> rows =
      pool_divisors(image.size(2), op.h, window.out_h, count_include_pad);
  const std::vector<double> cols =
      pool_divisors(image.size(3), op.w, window.out_w, count_include_pad);
  std::vector<double> divisors;
  for (double r : rows) {
    for (double c : cols) divisors.push_back(r * c);
  }
  const Tensor divisor = tensor(divisors, {L}, input.options());
  const Tensor sums = im2col(image, window, Layout::Columns)
                          .view({N, C, window.kernel_h * window.kernel_w, L})
                          .sum(2);
  return from_image(op, (sums / divisor).view({N, C, window.out_h, window.out_w}), input);
}

// max_pool2d and max_pool1d once the op is described.
Tensor max_pool(const Op& op, const Tensor& input, bool ceil_mode) {
  const Tensor image = as_image(op, input);
  detail::check_floating(op.name, input);
  const Window2d window = pool_window(op, image, input, ceil_mode);
  // Possible with dilation: a window whose taps all fall in the padding has no maximum.
  auto reaches_input = [](const Axis& a, int64_t size, int64_t count) {
    for (int64_t o = 0; o < count; ++o) {
      const int64_t start = o * a.stride - a.padding;
      const int64_t first = start >= 0 ? 0 : (-start + a.dilation - 1) / a.dilation;
      if (first >= a.kernel || start + first * a.dilation >= size) return false;
    }
    return true;
  };
  BG_CHECK(reaches_input(op.h, image.size(2), window.out_h) &&
               reaches_input(op.w, image.size(3), window.out_w),
           op.name, "some window of the kernel ", op.dims(&Axis::kernel), " (dilation ",
           op.dims(&Axis::dilation), ", padding ", op.dims(&Axis::padding),
           ") lies entirely in the padding of the input ", describe(input));
  return from_image(op, max_pool(image, window), input);
}

// The [out, size] matrix of adaptive average pooling along one axis: row i averages PyTorch's
// window [floor(i size / out), ceil((i + 1) size / out)).
Tensor adaptive_weights(int64_t out, int64_t size, const Tensor& like) {
  const Tensor host = zeros({out, size}, kFloat64);  // checks that out x size can be allocated
  double* weights = host.data_ptr<double>();
  for (int64_t i = 0; i < out; ++i) {
    const int64_t start = i * size / out, end = ((i + 1) * size + out - 1) / out;
    for (int64_t k = start; k < end; ++k)
      weights[i * size + k] = 1.0 / static_cast<double>(end - start);
  }
  return host.to(like.dtype()).to(like.device());
}

}  // namespace

// ---- Public ops ---------------------------------------------------------------------------------

Tensor max_pool2d(const Tensor& input, Size2 kernel, std::optional<Size2> stride, Size2 padding,
                  Size2 dilation, bool ceil_mode) {
  return max_pool(Op("max_pool2d", 2, kernel, stride.value_or(kernel), padding, dilation), input,
                  ceil_mode);
}

Tensor max_pool1d(const Tensor& input, int64_t kernel, std::optional<int64_t> stride,
                  int64_t padding, int64_t dilation, bool ceil_mode) {
  return max_pool(Op("max_pool1d", 1, Size2(1, kernel), Size2(1, stride.value_or(kernel)),
                     Size2(0, padding), Size2(1, dilation)),
                  input, ceil_mode);
}

Tensor avg_pool2d(const Tensor& input, Size2 kernel, std::optional<Size2> stride, Size2 padding,
                  bool ceil_mode, bool count_include_pad) {
  return avg_pool(Op("avg_pool2d", 2, kernel, stride.value_or(kernel), padding, 1), input,
                  ceil_mode, count_include_pad);
}

Tensor avg_pool1d(const Tensor& input, int64_t kernel, std::optional<int64_t> stride,
                  int64_t padding, bool ceil_mode, bool count_include_pad) {
  return avg_pool(Op("avg_pool1d", 1, Size2(1, kernel), Size2(1, stride.value_or(kernel)),
                     Size2(0, padding), 1),
                  input, ceil_mode, count_include_pad);
}

Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size) {
  const Op op("adaptive_avg_pool2d", 2, 1, 1, 0, 1);
  const Tensor image = as_image(op, input);
  detail::check_floating(op.name, input);
  // An output size of 0 gives an empty result, as in PyTorch.
  BG_CHECK(output_size.h >= 0 && output_size.w >= 0, op.name,
           "the output size must be non-negative, got ", op.dims(output_size.h, output_size.w));
  BG_CHECK(image.size(2) > 0 && image.size(3) > 0, op.name,
           "expected an input with non-empty height and width, got ", describe(input));
  // Separable: average the rows of every plane, then its columns, each as one matrix product.
  const Tensor rows = adaptive_weights(output_size.h, image.size(2), input);
  const Tensor cols = adaptive_weights(output_size.w, image.size(3), input);
  return from_image(op, rows.matmul(image).matmul(cols.t()), input);
}

}  // namespace bg
