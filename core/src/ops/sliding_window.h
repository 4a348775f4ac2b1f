#pragma once
// What the sliding-window ops (convolution in conv.cpp, pooling in pooling.cpp) share: how their
// windows lie, and the two differentiable primitives that move memory, im2col and col2im.
//
// Every op is computed on an image [N, C, H, W]: 1-d ops see their input as [N, C, 1, L] and
// unbatched inputs get N = 1; the result is reshaped back at the end. Only three primitives touch
// memory: im2col (unfold), col2im (fold) and max pooling; everything else is Tensor ops, so every
// derivative, and every derivative of a derivative, is recorded by autograd.

#include <string>

#include "bg/core/backend.h"
#include "bg/core/conv.h"
#include "bg/core/shape.h"

namespace bg::detail {

using Window2d = Backend::Window2d;

// One spatial axis of a sliding-window op, as the user gave it.
struct Axis {
  int64_t kernel, stride, padding, dilation;
  // The extent of one (dilated) window.
  int64_t span() const { return dilation * (kernel - 1) + 1; }
};

// The number of windows along an axis of `size` (PyTorch's formula). With ceil_mode (pooling) a
// last, partial window counts too, provided it starts inside the input or its left padding.
int64_t window_count(int64_t size, const Axis& a, bool ceil_mode = false);

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
Tensor as_image(const Op& op, const Tensor& input);
// A result image [N, C, OH, OW] in the layout of `input` (as_image undone).
Tensor from_image(const Op& op, const Tensor& out, const Tensor& input);

// How im2col lays out the columns of an image [N, C, H, W] (K = C kh kw rows, L windows each).
enum class Layout {
  Columns,       // [N, K, L], contiguous: F.unfold's layout
  Rows,          // [K, N L]: every window of the batch in one row per tap (a GEMM operand)
  RowsWithOnes,  // [K + 1, N L]: Rows and a last row of ones, which multiplies a bias
};

// unfold on an image: its windows as columns laid out as `layout` says. Backward: col2im.
Tensor im2col(const Tensor& image, const Window2d& window, Layout layout);
// fold on an image: columns [N, C kh kw, L] (any strides) summed into [N, C, H, W].
// Backward: im2col.
Tensor col2im(const Tensor& columns, int64_t H, int64_t W, const Window2d& window);

}  // namespace bg::detail
