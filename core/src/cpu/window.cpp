// Sliding-window kernels on the CPU: im2col, col2im and max pooling, with the geometry of
// window_plan.h. Tasks own whole column rows or whole planes of the output, and each is computed in
// a fixed order, so the results do not depend on the thread count (Note [Deterministic chunks]).
//
// These are the portable loops. Where the CPU has AVX-512, the calls that can use vectors go to
// window_avx512.cpp instead (masked vector loops over the same tables).

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/window_avx512.h"
#include "cpu/window_plan.h"
#include "ops/op_utils.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

// Writes the column row of tap (i, j) of one input plane (rows at stride in_h, elements at in_w):
// out_h * out_w values at `dst`, 0 where the tap falls in the padding.
template <typename T>
void im2col_row(const T* in, int64_t in_h, int64_t in_w, const Window2d& w, const Taps& taps,
                int64_t i, int64_t j, T* dst) {
  const int64_t OW = w.out_w;
  const Range oh_in = taps.rows.windows[i], ow_in = taps.cols.windows[j];
  std::fill(dst, dst + oh_in.lo * OW, T(0));
  std::fill(dst + oh_in.hi * OW, dst + w.out_h * OW, T(0));
  for (int64_t oh = oh_in.lo; oh < oh_in.hi; ++oh) {
    T* d = dst + oh * OW;
    const T* src = in + (oh * w.stride_h + taps.rows.offset[i]) * in_h;
    std::fill(d, d + ow_in.lo, T(0));
    for (int64_t ow = ow_in.lo; ow < ow_in.hi; ++ow) {
      d[ow] = src[(ow * w.stride_w + taps.cols.offset[j]) * in_w];
    }
    std::fill(d + ow_in.hi, d + OW, T(0));
  }
}

// Sums the kh * kw column rows of one plane (row (i, j) at columns + (i * kw + j) * row_stride)
// into the contiguous plane `out` [H, W].
template <typename T>
void col2im_plane(const T* columns, int64_t row_stride, const Window2d& w, const Taps& taps,
                  int64_t H, int64_t W, T* out) {
  std::fill(out, out + H * W, T(0));
  const int64_t OW = w.out_w;
  for (int64_t i = 0; i < w.kernel_h; ++i) {
    const Range oh_in = taps.rows.windows[i];
    for (int64_t j = 0; j < w.kernel_w; ++j) {
      const Range ow_in = taps.cols.windows[j];
      const T* src = columns + (i * w.kernel_w + j) * row_stride;
      for (int64_t oh = oh_in.lo; oh < oh_in.hi; ++oh) {
        T* d = out + (oh * w.stride_h + taps.rows.offset[i]) * W;
        for (int64_t ow = ow_in.lo; ow < ow_in.hi; ++ow) {
          d[ow * w.stride_w + taps.cols.offset[j]] += src[oh * OW + ow];
        }
      }
    }
  }
}

// Every window's taps come in the same order and only a strictly larger value replaces the best,
// so each window keeps its first maximum; the first NaN wins and stays.
template <typename T>
void max_pool_plane(const T* in, const PoolPlan& plan, T* out, int64_t* indices) {
  for (int64_t o = 0; o < plan.windows; ++o) {
    T best = -std::numeric_limits<T>::infinity();
    int64_t at = plan.first[o];
    for (int64_t t = 0; t < plan.taps(); ++t) {
      if (!plan.tap_inside(t, o)) continue;
      const int64_t position = plan.origin[o] + plan.offset[t];
      const T v = in[position];
      const bool take = (v > best) | ((v != v) & (best == best));
      best = take ? v : best;
      at = take ? position : at;
    }
    out[o] = best;
    indices[o] = at;
  }
}

}  // namespace

void CpuBackend::im2col(const Tensor& columns, const Tensor& input, const Window2d& window) {
  const Taps taps(window, input.size(2), input.size(3));
#ifdef BG_WINDOW_SIMD
  if (window.stride_w == 1 && input.stride(3) == 1) {
    avx512::im2col(columns, input, window, taps);
    return;
  }
#endif
  const int64_t N = input.size(0), C = input.size(1);
  const int64_t kh = window.kernel_h, kw = window.kernel_w, L = window.out_h * window.out_w;
  dispatch_floating(input.dtype(), "im2col", [&](auto tag) {
    using T = decltype(tag);
    const Image<T> in = image_of<T>(input);
    T* out = static_cast<T*>(columns.impl()->data());
    const int64_t col_n = columns.stride(0), col_row = columns.stride(1);
    auto row = [&](int64_t n, int64_t c, int64_t i, int64_t j) {
      im2col_row(in.data + n * in.n + c * in.c, in.h, in.w, window, taps, i, j,
                 out + n * col_n + ((c * kh + i) * kw + j) * col_row);
    };
    // Memory is written in order: with the batch inside ([C kh kw, N, L], as convolutions lay it
    // out) a task fills column rows for every image, otherwise the rows of whole images.
    if (col_n < col_row) {
      parallel_for(C * kh * kw, grain_for(N * L), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          for (int64_t n = 0; n < N; ++n) row(n, r / (kh * kw), r % (kh * kw) / kw, r % kw);
        }
      });
    } else {
      parallel_for(N * C, grain_for(kh * kw * L), [&](int64_t b, int64_t e) {
        for (int64_t plane = b; plane < e; ++plane) {
          for (int64_t i = 0; i < kh; ++i) {
            for (int64_t j = 0; j < kw; ++j) row(plane / C, plane % C, i, j);
          }
        }
      });
    }
  });
}

void CpuBackend::col2im(const Tensor& out, const Tensor& columns, const Window2d& window) {
  const int64_t N = out.size(0), C = out.size(1), H = out.size(2), W = out.size(3);
  const Taps taps(window, H, W);
  Tensor src = columns;
  if (src.stride(2) != 1) {
    src = detail::empty_tensor("col2im", columns.sizes(), columns.dtype(), columns.device());
    copy(src, columns);
  }
#ifdef BG_WINDOW_SIMD
  if (window.stride_w == 1) {
    avx512::col2im(out, src, window, taps);
    return;
  }
#endif
  dispatch_floating(out.dtype(), "col2im", [&](auto tag) {
    using T = decltype(tag);
    for_each_col2im_plane(static_cast<const T*>(src.impl()->data()), src.stride(0), src.stride(1),
                          static_cast<T*>(out.impl()->data()), N, C, H, W, window,
                          [&](const T* plane_columns, int64_t row_stride, T* image) {
                            col2im_plane(plane_columns, row_stride, window, taps, H, W, image);
                          });
  });
}

void CpuBackend::max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input,
                            const Window2d& window) {
  Tensor src = input;
  if (!src.is_contiguous()) {
    src = detail::empty_tensor("max_pool2d", input.sizes(), input.dtype(), input.device());
    copy(src, input);
  }
#ifdef BG_WINDOW_SIMD
  avx512::max_pool2d(out, indices, src, window);
  return;
#endif
  const int64_t H = input.size(2), W = input.size(3);
  const PoolPlan plan(window, H, W);
  dispatch_floating(input.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    for_each_pool_plane(
        static_cast<const T*>(src.impl()->data()), input.size(0) * input.size(1), H, W, plan,
        static_cast<T*>(out.impl()->data()), indices.data_ptr<int64_t>(),
        [&](const T* image, T* values, int64_t* at) { max_pool_plane(image, plan, values, at); });
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
