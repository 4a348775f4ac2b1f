#pragma once
// The geometry of the CPU's sliding-window kernels (window.cpp and its AVX-512 paths in
// window_avx512.cpp): which taps of which windows fall inside the input. It is the same for every
// (n, c) plane, so it is worked out once per call into small tables (the only divisions), and the
// per-plane loops run without bounds checks.

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "bg/core/backend.h"
#include "bg/core/tensor_impl.h"
#include "cpu/parallel.h"

namespace bg::cpu::BG_CPU_ISA {

using Window2d = Backend::Window2d;

// The indices o in [0, count) with 0 <= o * step + offset < size, as [lo, hi) (lo == hi when none).
struct Range {
  int64_t lo, hi;
};
inline Range inside(int64_t count, int64_t step, int64_t offset, int64_t size) {
  const int64_t lo = offset >= 0 ? 0 : (-offset + step - 1) / step;
  const int64_t hi = size <= offset ? 0 : (size - offset + step - 1) / step;
  const int64_t first = std::min(lo, count);
  return {first, std::clamp(hi, first, count)};
}

// One axis of the windows: tap k reads the input at o * stride + offset[k] for window o, which is
// inside the input for the windows in windows[k].
struct TapAxis {
  std::vector<int64_t> offset;
  std::vector<Range> windows;
  TapAxis(int64_t count, int64_t stride, int64_t pad, int64_t kernel, int64_t dilation,
          int64_t size) {
    for (int64_t k = 0; k < kernel; ++k) {
      offset.push_back(k * dilation - pad);
      windows.push_back(inside(count, stride, offset.back(), size));
    }
  }
};

// Both axes of a call.
struct Taps {
  TapAxis rows, cols;
  Taps(const Window2d& w, int64_t H, int64_t W)
      : rows(w.out_h, w.stride_h, w.pad_h, w.kernel_h, w.dilation_h, H),
        cols(w.out_w, w.stride_w, w.pad_w, w.kernel_w, w.dilation_w, W) {}
};

// [N, C, H, W] element strides of a 4-d tensor, and where its data starts.
template <typename T>
struct Image {
  T* data;
  int64_t n, c, h, w;
};
template <typename T>
Image<T> image_of(const Tensor& t) {
  return {static_cast<T*>(t.impl()->data()), t.stride(0), t.stride(1), t.stride(2), t.stride(3)};
}

// Items per task: enough elements that a task outweighs its scheduling.
inline int64_t grain_for(int64_t elements_per_item) {
  return std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(elements_per_item, 1));
}

// Max pooling's plan, the same for every plane. Windows are numbered row-major over the output
// plane and taken in blocks of 8 (one AVX-512 vector of int64 positions). Window o has its tap
// (0, 0) at plane position origin[o] (possibly in the padding) and its first tap inside the input
// at first[o]; tap t = (i, j) lies offset[t] past the origin, and inside the input for the windows
// whose bits are set in inside[t * blocks + o / 8].
struct PoolPlan {
  int64_t windows, blocks;
  std::vector<int64_t> origin, first, offset;
  std::vector<uint8_t> inside;

  PoolPlan(const Window2d& w, int64_t H, int64_t W)
      : windows(w.out_h * w.out_w), blocks((windows + 7) / 8) {
    const Taps taps(w, H, W);
    inside.assign(static_cast<size_t>(w.kernel_h * w.kernel_w * blocks), 0);
    for (int64_t i = 0; i < w.kernel_h; ++i) {
      for (int64_t j = 0; j < w.kernel_w; ++j) {
        const int64_t t = i * w.kernel_w + j;
        offset.push_back(i * w.dilation_h * W + j * w.dilation_w);
        for (int64_t oh = taps.rows.windows[i].lo; oh < taps.rows.windows[i].hi; ++oh) {
          for (int64_t ow = taps.cols.windows[j].lo; ow < taps.cols.windows[j].hi; ++ow) {
            const int64_t o = oh * w.out_w + ow;
            inside[t * blocks + o / 8] |= static_cast<uint8_t>(1u << (o % 8));
          }
        }
      }
    }
    for (int64_t o = 0; o < windows; ++o) {
      origin.push_back((o / w.out_w * w.stride_h - w.pad_h) * W + o % w.out_w * w.stride_w -
                       w.pad_w);
      // The frontend guarantees every window a tap inside the input.
      int64_t t = 0;
      while (!tap_inside(t, o)) ++t;
      first.push_back(origin.back() + offset[t]);
    }
  }
  bool tap_inside(int64_t t, int64_t o) const { return inside[t * blocks + o / 8] >> (o % 8) & 1; }
  int64_t taps() const { return static_cast<int64_t>(offset.size()); }
};

// Note [Rows that share cache sets]
// A core's L1 data cache keeps a line in one of 64 sets, chosen by address bits 6-11, and in one of
// that set's 8 (AMD) to 12 (Intel) ways: lines a multiple of 4 KiB apart compete for the ways of
// one set. col2im reads a plane's kh kw column rows together, at the same offsets in each, and a
// convolution's columns [C kh kw, N, L] have their rows N L elements apart: 16 KiB for a batch of
// 64 and 8 x 8 windows (LeNet's conv2), so that the 25 taps of a 5 x 5 kernel share one set and
// evict each other's lines before they are done with them. Where more than 4 taps would share a
// set (half the ways of the smallest L1; the rest are for everything else), col2im first copies
// the plane's taps into a buffer, an odd number of lines apart: each row is read once, in order,
// and the buffer's rows fall into different sets. The same numbers are summed in the same order:
// the same bits. (LeNet's conv2 input gradient on a Zen 4: 197 -> 154 us; 121 us with the rows
// padded where im2col writes them. Copying dot_gemm's rows apart the same way, for the weight
// gradients, was slower: the copy costs as much as the products it spares.)

/// How many of `rows` rows, `row_bytes` apart, fall into the L1 set of the first.
inline int64_t rows_per_cache_set(int64_t rows, int64_t row_bytes) {
  constexpr int64_t kWayBytes = 4096;  // 64 sets of 64-byte lines
  const int64_t sets_apart = kWayBytes / std::gcd(row_bytes, kWayBytes);
  return (rows + sets_apart - 1) / sets_apart;
}

/// A row stride, in elements of `element_bytes`, for rows of `length` elements that are read
/// together: an odd number of 64-byte lines, so that no two of 64 consecutive rows share a set.
inline int64_t uncrowded_stride(int64_t length, int64_t element_bytes) {
  const int64_t per_line = 64 / element_bytes;
  const int64_t lines = (length + per_line - 1) / per_line;
  return (lines | 1) * per_line;
}

// Calls sum_plane(columns, row_stride, image) for each of the N * C planes of col2im: `columns`
// points at the plane's first column row, whose taps are rows row_stride apart, `image` at its
// contiguous [H, W] output plane in `out`. The input `columns` has its planes' rows col_row
// apart (each L = out_h out_w long), the planes of one image kh kw rows apart, images col_n apart.
// A plane's taps are read together: where they would crowd a cache set, they are copied apart
// first (Note [Rows that share cache sets]).
template <typename T, typename SumPlane>
void for_each_col2im_plane(const T* columns, int64_t col_n, int64_t col_row, T* out, int64_t N,
                           int64_t C, int64_t H, int64_t W, const Window2d& w,
                           const SumPlane& sum_plane) {
  const int64_t taps_per_plane = w.kernel_h * w.kernel_w, L = w.out_h * w.out_w;
  const bool copy_taps =
      rows_per_cache_set(taps_per_plane, col_row * static_cast<int64_t>(sizeof(T))) > 4;
  const int64_t tap_stride = uncrowded_stride(L, sizeof(T));
  parallel_for(N * C, grain_for(taps_per_plane * L), [&](int64_t b, int64_t e) {
    std::vector<T> taps(copy_taps ? static_cast<size_t>(taps_per_plane * tap_stride) : 0);
    for (int64_t plane = b; plane < e; ++plane) {
      const int64_t n = plane / C, c = plane % C;
      const T* plane_columns = columns + n * col_n + c * taps_per_plane * col_row;
      if (!copy_taps) {
        sum_plane(plane_columns, col_row, out + plane * H * W);
        continue;
      }
      for (int64_t t = 0; t < taps_per_plane; ++t) {
        std::copy_n(plane_columns + t * col_row, L, taps.data() + t * tap_stride);
      }
      sum_plane(taps.data(), tap_stride, out + plane * H * W);
    }
  });
}

// Calls pool_plane(input plane, values, positions) for each of the `planes` contiguous [H, W]
// planes of `in`, whose windows `plan` describes.
template <typename T, typename PoolPlane>
void for_each_pool_plane(const T* in, int64_t planes, int64_t H, int64_t W, const PoolPlan& plan,
                         T* values, int64_t* positions, const PoolPlane& pool_plane) {
  parallel_for(planes, grain_for(plan.windows * plan.taps()), [&](int64_t b, int64_t e) {
    for (int64_t plane = b; plane < e; ++plane) {
      pool_plane(in + plane * H * W, values + plane * plan.windows,
                 positions + plane * plan.windows);
    }
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
