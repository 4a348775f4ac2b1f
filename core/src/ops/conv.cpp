// Convolution and pooling frontends: argument checks, PyTorch's output sizes, autograd.
//
// Every op is computed on an image [N, C, H, W]: 1-d ops see their input as [N, C, 1, L] and
// unbatched inputs get N = 1; the result is reshaped back at the end. Only three primitives touch
// memory: im2col (unfold), col2im (fold) and max pooling; everything else is Tensor ops, so every
// derivative, and every derivative of a derivative, is recorded by autograd.
//
// Note [Convolution as unfold + GEMM]
// conv2d gathers every window of the input into a column (im2col) and applies all the filters
// with one matrix product: out[:, n, l] = weight [C_out, C_in kh kw] @ columns[:, n, l]. The
// columns are laid out in memory as [C_in kh kw, N, L] (the batch inside), so the product is one
// large GEMM over all N * L windows rather than N small ones, and so is the weight gradient in the
// backward pass, whose inner dimension runs over every window of the batch. The product comes out
// [C_out, N, L] and is copied once into the usual [N, C_out, L]. A bias is one more column of the
// weight, against a row of ones appended to the columns: it is added inside the product, and its
// gradient comes out of the weight gradient's product rather than a separate sum over the batch
// and the image. Groups make it a batched product over the groups (with the bias added after).
// unfold's backward is fold and fold's backward is unfold, so the derivatives with respect to the
// input come from autograd through the two.

#include "bg/core/conv.h"

#include <string>

#include "bg/core/autograd/node.h"
#include "bg/core/ops.h"
#include "ops/op_utils.h"

namespace bg {

using autograd::Context;
using autograd::Grads;
using Window2d = Backend::Window2d;

namespace {

// x / y rounded toward negative infinity, for y > 0 (PyTorch's output-size formulas round so).
int64_t floor_div(int64_t x, int64_t y) { return x >= 0 ? x / y : -((-x + y - 1) / y); }

// One spatial axis of a sliding-window op, as the user gave it.
struct Axis {
  int64_t kernel, stride, padding, dilation;
  // The extent of one (dilated) window.
  int64_t span() const { return dilation * (kernel - 1) + 1; }
};

// The number of windows along an axis of `size` (PyTorch's formula). With ceil_mode (pooling) a
// last, partial window counts too, provided it starts inside the input or its left padding.
int64_t window_count(int64_t size, const Axis& a, bool ceil_mode = false) {
  const int64_t room = size + 2 * a.padding - a.span() + (ceil_mode ? a.stride - 1 : 0);
  int64_t count = floor_div(room, a.stride) + 1;
  if (ceil_mode && count > 0 && (count - 1) * a.stride >= size + a.padding) --count;
  return count;
}

// A sliding-window op being called: its name, its 1 or 2 spatial dims, and its axes. A 1-d op's
// height axis is the trivial one (kernel 1, stride 1, no padding).
struct Op {
  const char* name;
  int spatial;
  Axis h, w;

  Op(const char* name, int spatial, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation)
      : name(name),
        spatial(spatial),
        h{kernel.h, stride.h, padding.h, dilation.h},
        w{kernel.w, stride.w, padding.w, dilation.w} {}

  // "[kh, kw]" (or "[k]" for a 1-d op) of one field of the axes, for messages.
  std::string dims(int64_t Axis::*field) const {
    return spatial == 1 ? shape_str({w.*field}) : shape_str({h.*field, w.*field});
  }
  std::string dims(int64_t height, int64_t width) const {
    return spatial == 1 ? shape_str({width}) : shape_str({height, width});
  }
  // "[C, H, W] or [N, C, H, W]": the input layouts the op accepts.
  const char* layouts() const {
    return spatial == 1 ? "[C, L] (unbatched) or [N, C, L]"
                        : "[C, H, W] (unbatched) or [N, C, H, W]";
  }

  // Positive kernel, stride and dilation, padding >= 0.
  void check_axes() const {
    BG_CHECK(h.kernel > 0 && w.kernel > 0, name, "the kernel size must be positive, got ",
             dims(&Axis::kernel));
    BG_CHECK(h.stride > 0 && w.stride > 0, name, "the stride must be positive, got ",
             dims(&Axis::stride));
    BG_CHECK(h.dilation > 0 && w.dilation > 0, name, "the dilation must be positive, got ",
             dims(&Axis::dilation));
    BG_CHECK(h.padding >= 0 && w.padding >= 0, name, "the padding must be non-negative, got ",
             dims(&Axis::padding));
  }

  // Pooling's extra rule (PyTorch's): padding at most half the kernel.
  void check_pool_padding() const {
    BG_CHECK(2 * h.padding <= h.kernel && 2 * w.padding <= w.kernel, name, "the padding ",
             dims(&Axis::padding), " must be at most half the kernel size ", dims(&Axis::kernel));
  }

  Window2d window(int64_t out_h, int64_t out_w) const {
    return {h.kernel,  w.kernel,   h.stride,   w.stride, h.padding,
            w.padding, h.dilation, w.dilation, out_h,    out_w};
  }
};

// `input` as an image [N, C, H, W], after checking its dims.
Tensor as_image(const Op& op, const Tensor& input) {
  detail::check_defined(op.name, input);
  BG_CHECK(input.dim() == op.spatial + 1 || input.dim() == op.spatial + 2, op.name,
           "expected an input ", op.layouts(), ", got ", describe(input));
  const Tensor batched = input.dim() == op.spatial + 1 ? input.unsqueeze(0) : input;
  return op.spatial == 1 ? batched.unsqueeze(2) : batched;
}

// A result image [N, C, OH, OW] in the layout of `input` (as_image undone).
Tensor from_image(const Op& op, const Tensor& out, const Tensor& input) {
  const Tensor batched = op.spatial == 1 ? out.squeeze(2) : out;
  return input.dim() == op.spatial + 1 ? batched.squeeze(0) : batched;
}

// The windows of a convolution (or unfold) over `image`: throws when the padded input is smaller
// than the dilated kernel.
Window2d conv_window(const Op& op, const Tensor& image, const Tensor& input) {
  const int64_t H = image.size(2), W = image.size(3);
  BG_CHECK(H + 2 * op.h.padding >= op.h.span() && W + 2 * op.w.padding >= op.w.span(), op.name,
           "the kernel ", op.dims(&Axis::kernel), " (dilation ", op.dims(&Axis::dilation),
           ") is larger than the input ", describe(input), " padded to ",
           op.dims(H + 2 * op.h.padding, W + 2 * op.w.padding));
  return op.window(window_count(H, op.h), window_count(W, op.w));
}

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

// ---- The differentiable primitives --------------------------------------------------------------

// How im2col lays out the columns of an image [N, C, H, W] (K = C kh kw rows, L windows each).
enum class Layout {
  Columns,       // [N, K, L], contiguous: F.unfold's layout
  Rows,          // [K, N L]: every window of the batch in one row per tap (a GEMM operand)
  RowsWithOnes,  // [K + 1, N L]: Rows and a last row of ones, which multiplies a bias
};

Tensor im2col(const Tensor& image, const Window2d& window, Layout layout);

// fold on an image: columns [N, C kh kw, L] (any strides) summed into [N, C, H, W].
// Backward: im2col.
Tensor col2im(const Tensor& columns, int64_t H, int64_t W, const Window2d& window) {
  const int64_t N = columns.size(0), C = columns.size(1) / (window.kernel_h * window.kernel_w);
  Tensor out = detail::empty_tensor({N, C, H, W}, columns.dtype(), columns.device());
  detail::backend_of(columns).col2im(out, columns, window);
  autograd::record(out, "FoldBackward", {columns}, {}, false,
                   [window](const Context&, const Tensor& g) -> Grads {
                     return {im2col(g, window, Layout::Columns)};
                   });
  return out;
}

// unfold on an image (Note [Convolution as unfold + GEMM]). Backward: col2im (the row of ones,
// a constant, gets no gradient).
Tensor im2col(const Tensor& image, const Window2d& window, Layout layout) {
  const int64_t N = image.size(0), K = image.size(1) * window.kernel_h * window.kernel_w;
  const int64_t L = window.out_h * window.out_w;
  Tensor out;
  if (layout == Layout::Columns) {
    out = detail::empty_tensor({N, K, L}, image.dtype(), image.device());
    detail::backend_of(image).im2col(out, image, window);
  } else {
    const int64_t ones = layout == Layout::RowsWithOnes ? 1 : 0;
    out = detail::empty_tensor({K + ones, N * L}, image.dtype(), image.device());
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

// The gradient of max pooling: `grad` [N, C, OH, OW] added into zeros of `sizes` [N, C, H, W] at
// the positions `index` ([N C, OH OW], h * W + w within each plane) of the maxima. Its own
// derivative is a gather at the same positions, so second derivatives come from autograd.
Tensor scatter_to_maxima(const Tensor& grad, const Tensor& index, const Shape& sizes) {
  Tensor out = detail::empty_tensor(sizes, grad.dtype(), grad.device());
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
  Tensor out =
      detail::empty_tensor({N, C, window.out_h, window.out_w}, image.dtype(), image.device());
  const Tensor indices = detail::empty_tensor(out.sizes(), kInt64, image.device());
  detail::backend_of(image).max_pool2d(out, indices, image, window);
  const Tensor plane_indices = indices.view({N * C, window.out_h * window.out_w});
  autograd::record(out, "MaxPool2DBackward", {image}, {plane_indices}, false,
                   [sizes = image.sizes()](const Context& c, const Tensor& g) -> Grads {
                     return {scatter_to_maxima(g, c.saved(0), sizes)};
                   });
  return out;
}

// conv2d on checked images (Note [Convolution as unfold + GEMM]): x [N, C_in, H, W], weight
// [C_out, C_in / groups, kh, kw].
Tensor convolution(const Tensor& x, const Tensor& weight, const Tensor& bias,
                   const Window2d& window, int64_t groups) {
  const int64_t N = x.size(0), C_out = weight.size(0), L = window.out_h * window.out_w;
  const int64_t K = x.size(1) * window.kernel_h * window.kernel_w;
  Tensor product;  // [C_out, N L]
  if (bias.defined() && groups == 1) {
    const Tensor filters = cat({weight.reshape({C_out, K}), bias.reshape({C_out, 1})}, 1);
    product = filters.mm(im2col(x, window, Layout::RowsWithOnes));
  } else {
    const Tensor rows = im2col(x, window, Layout::Rows).view({groups, K / groups, N * L});
    product = weight.reshape({groups, C_out / groups, K / groups}).bmm(rows).view({C_out, N * L});
    if (bias.defined()) product = product + bias.reshape({C_out, 1});
  }
  return product.view({C_out, N, L})
      .permute({1, 0, 2})
      .contiguous()
      .view({N, C_out, window.out_h, window.out_w});
}

// Checks what conv2d, conv1d and conv_transpose2d share: operands, groups, channels and bias.
// `image` is the input as as_image gave it; the weight is [C_out, C_in / groups, k...] or, when
// transposed, [C_in, C_out / groups, k...]. Returns C_out.
int64_t check_conv_operands(const Op& op, const Tensor& input, const Tensor& image,
                            const Tensor& weight, const Tensor& bias, int64_t groups,
                            bool transposed) {
  detail::check_same_device(op.name, input, weight);
  detail::check_floating(op.name, input);
  BG_CHECK(weight.dtype() == input.dtype(), op.name, "the input ", describe(input),
           " and the weight ", describe(weight), " must have the same dtype");
  const char* layout =
      transposed
          ? (op.spatial == 1 ? "[C_in, C_out / groups, k]" : "[C_in, C_out / groups, kH, kW]")
          : (op.spatial == 1 ? "[C_out, C_in / groups, k]" : "[C_out, C_in / groups, kH, kW]");
  BG_CHECK(weight.dim() == op.spatial + 2, op.name, "expected a ", op.spatial + 2, "-d weight ",
           layout, ", got ", describe(weight));
  BG_CHECK(groups > 0, op.name, "groups must be positive, got ", groups);
  const int64_t channels = image.size(1);
  int64_t out_channels = 0;
  if (transposed) {
    BG_CHECK(channels == weight.size(0), op.name, "the input ", describe(input), " has ", channels,
             " channels, but the weight ", describe(weight), " expects ", weight.size(0));
    BG_CHECK(channels % groups == 0, op.name, "in_channels = ", channels,
             " is not divisible by groups = ", groups);
    out_channels = weight.size(1) * groups;
  } else {
    BG_CHECK(weight.size(0) % groups == 0, op.name, "out_channels = ", weight.size(0), " (weight ",
             describe(weight), ") is not divisible by groups = ", groups);
    BG_CHECK(channels == weight.size(1) * groups, op.name, "the input ", describe(input), " has ",
             channels, " channels, but the weight ", describe(weight), " with groups = ", groups,
             " expects ", weight.size(1) * groups);
    out_channels = weight.size(0);
  }
  if (bias.defined()) {
    detail::check_same_device(op.name, input, bias);
    BG_CHECK(bias.dim() == 1 && bias.size(0) == out_channels && bias.dtype() == input.dtype(),
             op.name, "expected a bias of shape [", out_channels, "] and the input's dtype ",
             dtype_name(input.dtype()), ", got ", describe(bias));
  }
  return out_channels;
}

// conv2d and conv1d once the op is described.
Tensor conv(const Op& op, const Tensor& input, const Tensor& weight, const Tensor& bias,
            int64_t groups) {
  const Tensor image = as_image(op, input);
  check_conv_operands(op, input, image, weight, bias, groups, false);
  op.check_axes();
  const Tensor filters = op.spatial == 1 ? weight.unsqueeze(2) : weight;
  return from_image(op, convolution(image, filters, bias, conv_window(op, image, input), groups),
                    input);
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
  std::vector<double> weights(static_cast<size_t>(out * size), 0.0);
  for (int64_t i = 0; i < out; ++i) {
    const int64_t start = i * size / out, end = ((i + 1) * size + out - 1) / out;
    for (int64_t k = start; k < end; ++k)
      weights[i * size + k] = 1.0 / static_cast<double>(end - start);
  }
  return tensor(weights, {out, size}, like.options());
}

}  // namespace

// ---- Public ops ---------------------------------------------------------------------------------

Tensor unfold(const Tensor& input, Size2 kernel, Size2 dilation, Size2 padding, Size2 stride) {
  const Op op("unfold", 2, kernel, stride, padding, dilation);
  const Tensor image = as_image(op, input);
  detail::check_floating(op.name, input);
  op.check_axes();
  const Tensor columns = im2col(image, conv_window(op, image, input), Layout::Columns);
  return input.dim() == 3 ? columns.squeeze(0) : columns;
}

Tensor fold(const Tensor& columns, Size2 output_size, Size2 kernel, Size2 dilation, Size2 padding,
            Size2 stride) {
  const Op op("fold", 2, kernel, stride, padding, dilation);
  detail::check_defined(op.name, columns);
  detail::check_floating(op.name, columns);
  BG_CHECK(columns.dim() == 2 || columns.dim() == 3, op.name,
           "expected columns [C * kH * kW, L] (unbatched) or [N, C * kH * kW, L], got ",
           describe(columns));
  op.check_axes();
  BG_CHECK(output_size.h > 0 && output_size.w > 0, op.name,
           "the output size must be positive, got ", op.dims(output_size.h, output_size.w));
  const Tensor batched = columns.dim() == 2 ? columns.unsqueeze(0) : columns;
  const int64_t taps = kernel.h * kernel.w;
  BG_CHECK(batched.size(1) % taps == 0, op.name, "the columns ", describe(columns), " have ",
           batched.size(1), " rows, not a multiple of the kernel's ", kernel.h, " * ", kernel.w,
           " = ", taps, " taps");
  const int64_t out_h = window_count(output_size.h, op.h),
                out_w = window_count(output_size.w, op.w);
  BG_CHECK(out_h > 0 && out_w > 0 && batched.size(2) == out_h * out_w, op.name, "the columns ",
           describe(columns), " hold ", batched.size(2), " windows, but an output of size ",
           op.dims(output_size.h, output_size.w), " with kernel ", op.dims(&Axis::kernel),
           ", dilation ", op.dims(&Axis::dilation), ", padding ", op.dims(&Axis::padding),
           " and stride ", op.dims(&Axis::stride), " has ", op.dims(out_h, out_w), " windows");
  const Tensor image = col2im(batched, output_size.h, output_size.w, op.window(out_h, out_w));
  return columns.dim() == 2 ? image.squeeze(0) : image;
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride,
              Size2 padding, Size2 dilation, int64_t groups) {
  detail::check_defined("conv2d", weight, "weight");
  BG_CHECK(weight.dim() == 4, "conv2d",
           "expected a 4-d weight [C_out, C_in / groups, kH, kW], got ", describe(weight));
  const Op op("conv2d", 2, Size2(weight.size(2), weight.size(3)), stride, padding, dilation);
  return conv(op, input, weight, bias, groups);
}

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
              int64_t padding, int64_t dilation, int64_t groups) {
  detail::check_defined("conv1d", weight, "weight");
  BG_CHECK(weight.dim() == 3, "conv1d", "expected a 3-d weight [C_out, C_in / groups, k], got ",
           describe(weight));
  const Op op("conv1d", 1, Size2(1, weight.size(2)), Size2(1, stride), Size2(0, padding),
              Size2(1, dilation));
  return conv(op, input, weight, bias, groups);
}

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride,
                        Size2 padding, Size2 output_padding, int64_t groups, Size2 dilation) {
  detail::check_defined("conv_transpose2d", weight, "weight");
  BG_CHECK(weight.dim() == 4, "conv_transpose2d",
           "expected a 4-d weight [C_in, C_out / groups, kH, kW], got ", describe(weight));
  const Op op("conv_transpose2d", 2, Size2(weight.size(2), weight.size(3)), stride, padding,
              dilation);
  const Tensor x = as_image(op, input);
  const int64_t C_out = check_conv_operands(op, input, x, weight, bias, groups, true);
  op.check_axes();
  const Size2& extra = output_padding;
  BG_CHECK(extra.h >= 0 && extra.w >= 0, op.name, "the output padding must be non-negative, got ",
           op.dims(extra.h, extra.w));
  BG_CHECK((extra.h < op.h.stride || extra.h < op.h.dilation) &&
               (extra.w < op.w.stride || extra.w < op.w.dilation),
           op.name, "the output padding ", op.dims(extra.h, extra.w),
           " must be smaller than the stride ", op.dims(&Axis::stride), " or the dilation ",
           op.dims(&Axis::dilation));
  // The size of the input of the convolution this transposes (the one whose windows are x's
  // positions).
  const int64_t H = x.size(2), W = x.size(3);
  const int64_t out_h = (H - 1) * op.h.stride - 2 * op.h.padding + op.h.span() + extra.h;
  const int64_t out_w = (W - 1) * op.w.stride - 2 * op.w.padding + op.w.span() + extra.w;
  BG_CHECK(out_h > 0 && out_w > 0, op.name, "the input ", describe(input), " with stride ",
           op.dims(&Axis::stride), " and padding ", op.dims(&Axis::padding),
           " gives a non-positive output size ", op.dims(out_h, out_w));
  // columns[n, g] = weight_g^T @ x_g[n], then fold sums them into the output image; the windows
  // are the input's H x W positions.
  const int64_t N = x.size(0), C_in = x.size(1), taps = op.h.kernel * op.w.kernel;
  const Tensor weight_t =
      weight.reshape({groups, C_in / groups, C_out / groups * taps}).transpose(1, 2);
  const Tensor columns = weight_t.matmul(x.reshape({N, groups, C_in / groups, H * W}))
                             .reshape({N, C_out * taps, H * W});
  const Tensor out = col2im(columns, out_h, out_w, op.window(H, W));
  return from_image(op, bias.defined() ? out + bias.reshape({C_out, 1, 1}) : out, input);
}

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
  BG_CHECK(output_size.h > 0 && output_size.w > 0, op.name,
           "the output size must be positive, got ", op.dims(output_size.h, output_size.w));
  BG_CHECK(image.size(2) > 0 && image.size(3) > 0, op.name,
           "expected an input with non-empty height and width, got ", describe(input));
  // Separable: average the rows of every plane, then its columns, each as one matrix product.
  const Tensor rows = adaptive_weights(output_size.h, image.size(2), input);
  const Tensor cols = adaptive_weights(output_size.w, image.size(3), input);
  return from_image(op, rows.matmul(image).matmul(cols.t()), input);
}

}  // namespace bg
