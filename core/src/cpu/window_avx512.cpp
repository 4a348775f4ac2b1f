// The AVX-512 paths of the CPU's sliding-window kernels (window_avx512.h says what they do).

#include "cpu/window_avx512.h"

#ifdef BG_WINDOW_SIMD

#include <immintrin.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "ops/op_utils.h"

namespace bg::cpu::BG_CPU_ISA::avx512 {

namespace {

template <typename T>
inline constexpr int64_t kLanes = 64 / static_cast<int64_t>(sizeof(T));

// The first n lanes (all when n >= lanes), as a 32-bit word for the tables.
template <typename T>
uint32_t first_lanes(int64_t n) {
  return n >= kLanes<T> ? (1u << kLanes<T>)-1 : (1u << std::max<int64_t>(n, 0)) - 1;
}

inline __m512 zero(float) { return _mm512_setzero_ps(); }
inline __m512d zero(double) { return _mm512_setzero_pd(); }
inline __m512 load(uint32_t m, const float* p) { return _mm512_maskz_loadu_ps(__mmask16(m), p); }
inline __m512d load(uint32_t m, const double* p) { return _mm512_maskz_loadu_pd(__mmask8(m), p); }
inline void store(float* p, uint32_t m, __m512 v) { _mm512_mask_storeu_ps(p, __mmask16(m), v); }
inline void store(double* p, uint32_t m, __m512d v) { _mm512_mask_storeu_pd(p, __mmask8(m), v); }
inline __m512 add(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
inline __m512d add(__m512d a, __m512d b) { return _mm512_add_pd(a, b); }

// What im2col does for tap (i, j) with unit-stride input rows (stride_w == 1, contiguous rows),
// the same for every plane: window rows [row_lo, row_hi) read the input from plane + src on,
// one input row (src_step elements) per window row, lane ow reading element ow; the other window
// rows, and the lanes outside [col_lo, col_hi), are padding (zeros).
struct TapRows {
  int64_t row_lo, row_hi, col_lo, col_hi, src, src_step;
};
std::vector<TapRows> tap_rows(const Window2d& w, const Taps& taps, int64_t in_h) {
  std::vector<TapRows> out;
  for (int64_t i = 0; i < w.kernel_h; ++i) {
    for (int64_t j = 0; j < w.kernel_w; ++j) {
      const Range rows = taps.rows.windows[i], cols = taps.cols.windows[j];
      out.push_back({rows.lo, rows.hi, cols.lo, cols.hi,
                     (rows.lo * w.stride_h + taps.rows.offset[i]) * in_h + taps.cols.offset[j],
                     w.stride_h * in_h});
    }
  }
  return out;
}

// Writes the column row of one tap of one plane (out_h * out_w values at dst), a vector at a time.
template <typename T>
inline void write_tap(const T* plane, const TapRows& t, const Window2d& w, T* dst) {
  const int64_t OW = w.out_w;
  if (t.row_lo > 0) std::fill(dst, dst + t.row_lo * OW, T(0));
  if (t.row_hi < w.out_h) std::fill(dst + t.row_hi * OW, dst + w.out_h * OW, T(0));
  const T* src = plane + t.src;
  T* d = dst + t.row_lo * OW;
  const int64_t rows = t.row_hi - t.row_lo;
  if (OW <= kLanes<T>) {
    const uint32_t all = first_lanes<T>(OW);
    const uint32_t valid = first_lanes<T>(t.col_hi) & ~first_lanes<T>(t.col_lo);
    for (int64_t r = 0; r < rows; ++r) store(d + r * OW, all, load(valid, src + r * t.src_step));
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t x0 = 0; x0 < OW; x0 += kLanes<T>) {
      const uint32_t valid = first_lanes<T>(t.col_hi - x0) & ~first_lanes<T>(t.col_lo - x0);
      store(d + r * OW + x0, first_lanes<T>(OW - x0), load(valid, src + r * t.src_step + x0));
    }
  }
}

// All the taps of one plane (column row t at dst + t * row_stride), and one tap of `count`
// planes (plane p at first + p * plane_stride, its row at dst + p * dst_stride). Kept out of line:
// inlined into the task's loop they ran short of registers.
template <typename T>
[[gnu::noinline]] void write_plane(const T* plane, const std::vector<TapRows>& taps,
                                   const Window2d& w, T* dst, int64_t row_stride) {
  for (size_t t = 0; t < taps.size(); ++t) write_tap(plane, taps[t], w, dst + t * row_stride);
}
template <typename T>
[[gnu::noinline]] void write_tap_of_planes(const T* first, int64_t plane_stride, int64_t count,
                                           const TapRows& tap, const Window2d& w, T* dst,
                                           int64_t dst_stride) {
  for (int64_t p = 0; p < count; ++p) {
    write_tap(first + p * plane_stride, tap, w, dst + p * dst_stride);
  }
}

// col2im's plan for unit-stride rows (stride_w == 1). Image row h receives the column rows of
// the pairs (i, oh) in [pair_start[h], pair_start[h + 1]) (kernel row i of window row oh lands on
// h). For segment s of an image row and tap column j: lanes[s * kw + j] are the lanes that receive
// a window, and the tap's column row is read at shift[s * kw + j] + lane (image column x receives
// window ow = x - offset[j]).
template <typename T>
struct ImagePlan {
  int64_t segments;
  std::vector<int64_t> pair_start, pair_i, pair_oh, shift;
  std::vector<uint32_t> lanes;

  ImagePlan(const Window2d& w, const Taps& taps, int64_t H, int64_t W)
      : segments((W + kLanes<T> - 1) / kLanes<T>) {
    std::vector<std::vector<std::pair<int64_t, int64_t>>> by_row(static_cast<size_t>(H));
    for (int64_t i = 0; i < w.kernel_h; ++i) {
      for (int64_t oh = taps.rows.windows[i].lo; oh < taps.rows.windows[i].hi; ++oh) {
        by_row[oh * w.stride_h + taps.rows.offset[i]].push_back({i, oh});
      }
    }
    pair_start.push_back(0);
    for (const auto& pairs : by_row) {
      for (const auto& [i, oh] : pairs) {
        pair_i.push_back(i);
        pair_oh.push_back(oh);
      }
      pair_start.push_back(static_cast<int64_t>(pair_i.size()));
    }
    for (int64_t s = 0; s < segments; ++s) {
      const int64_t x0 = s * kLanes<T>;
      for (int64_t j = 0; j < w.kernel_w; ++j) {
        const Range ow_in = taps.cols.windows[j];
        const int64_t lo = std::clamp(ow_in.lo + taps.cols.offset[j] - x0, int64_t{0}, kLanes<T>);
        const int64_t hi = std::clamp(ow_in.hi + taps.cols.offset[j] - x0, lo, kLanes<T>);
        lanes.push_back(first_lanes<T>(hi) & ~first_lanes<T>(lo));
        shift.push_back(x0 - taps.cols.offset[j]);
      }
    }
  }

  // Sums the column rows of one plane (tap (i, j) at columns + (i * kw + j) * row_stride) into
  // the plane `out` [H, W]. (Not inlined into the task's loop: there it ran short of registers.)
  [[gnu::noinline]] void sum(const T* columns, int64_t row_stride, const Window2d& w, int64_t H,
                             int64_t W, T* out) const {
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t s = 0; s < segments; ++s) {
        auto acc = zero(T());
        for (int64_t p = pair_start[h]; p < pair_start[h + 1]; ++p) {
          const T* row = columns + pair_i[p] * w.kernel_w * row_stride + pair_oh[p] * w.out_w;
          for (int64_t j = 0; j < w.kernel_w; ++j) {
            const int64_t k = s * w.kernel_w + j;
            acc = add(acc, load(lanes[k], row + j * row_stride + shift[k]));
          }
        }
        store(out + h * W + s * kLanes<T>, first_lanes<T>(W - s * kLanes<T>), acc);
      }
    }
  }
};

inline __m256 splat(float x) { return _mm256_set1_ps(x); }
inline __m512d splat(double x) { return _mm512_set1_pd(x); }
inline __m256 gather(__m256 keep, __mmask8 m, __m512i at, const float* base) {
  return _mm512_mask_i64gather_ps(keep, m, at, base, 4);
}
inline __m512d gather(__m512d keep, __mmask8 m, __m512i at, const double* base) {
  return _mm512_mask_i64gather_pd(keep, m, at, base, 8);
}
// Lanes where v replaces best: v > best, or v is the first NaN.
inline __mmask8 replaces(__m256 v, __m256 best) {
  return _mm256_cmp_ps_mask(v, best, _CMP_GT_OQ) |
         (_mm256_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm256_cmp_ps_mask(best, best, _CMP_ORD_Q));
}
inline __mmask8 replaces(__m512d v, __m512d best) {
  return _mm512_cmp_pd_mask(v, best, _CMP_GT_OQ) |
         (_mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_pd_mask(best, best, _CMP_ORD_Q));
}
inline __m256 select(__m256 a, __mmask8 m, __m256 b) { return _mm256_mask_mov_ps(a, m, b); }
inline __m512d select(__m512d a, __mmask8 m, __m512d b) { return _mm512_mask_mov_pd(a, m, b); }
inline void store8(float* p, __mmask8 m, __m256 v) { _mm256_mask_storeu_ps(p, m, v); }
inline void store8(double* p, __mmask8 m, __m512d v) { _mm512_mask_storeu_pd(p, m, v); }

// max_pool_plane, 8 windows at a time (same order of taps, same rule).
template <typename T>
void max_pool_plane_simd(const T* in, const PoolPlan& plan, T* out, int64_t* indices) {
  const auto lowest = splat(-std::numeric_limits<T>::infinity());
  for (int64_t b = 0; b < plan.blocks; ++b) {
    const int64_t o = b * 8;
    const auto lanes = static_cast<__mmask8>(first_lanes<double>(plan.windows - o));
    const __m512i origin = _mm512_maskz_loadu_epi64(lanes, plan.origin.data() + o);
    __m512i at = _mm512_maskz_loadu_epi64(lanes, plan.first.data() + o);
    auto best = lowest;
    for (int64_t t = 0; t < plan.taps(); ++t) {
      const __mmask8 valid = plan.inside[t * plan.blocks + b];
      const __m512i position = _mm512_add_epi64(origin, _mm512_set1_epi64(plan.offset[t]));
      // Lanes outside `valid` are not read; they get -inf, which never replaces the best.
      const auto v = gather(lowest, valid, position, in);
      const __mmask8 take = replaces(v, best) & valid;
      best = select(best, take, v);
      at = _mm512_mask_mov_epi64(at, take, position);
    }
    store8(out + o, lanes, best);
    _mm512_mask_storeu_epi64(indices + o, lanes, at);
  }
}

// The common case of 2-wide windows at stride 2 along rows (no padding or dilation along them,
// every window inside its row), float32: an input row is read with plain loads and split into
// its even and odd elements, 16 windows at a time, instead of gathered. Within a row the odd
// element replaces the even one under the same rule, and each further kernel row replaces the
// best so far, so the taps still come in row-major order. `taps[oh]` are the kernel rows of
// output row oh inside the input. Positions are tracked as int32 (planes below 2^31 elements).
[[gnu::noinline]] void max_pool_pairs(const float* in, int64_t W, const Window2d& w,
                                      const std::vector<Range>& taps, float* out,
                                      int64_t* indices) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512 lowest = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t oh = 0; oh < w.out_h; ++oh) {
    const int64_t h0 = oh * w.stride_h - w.pad_h;
    for (int64_t ow0 = 0; ow0 < w.out_w; ow0 += 16) {
      const int64_t n = std::min<int64_t>(16, w.out_w - ow0);
      // Input columns 2 (ow0 + lane) and 2 (ow0 + lane) + 1, relative to the row start.
      const __m512i column = _mm512_slli_epi32(_mm512_add_epi32(lane, _mm512_set1_epi32(ow0)), 1);
      const Range t = taps[oh];
      __m512 best = lowest;
      __m512i at = _mm512_add_epi32(
          column, _mm512_set1_epi32(static_cast<int32_t>((h0 + t.lo * w.dilation_h) * W)));
      for (int64_t i = t.lo; i < t.hi; ++i) {
        const int64_t h = h0 + i * w.dilation_h;
        const float* row = in + h * W + 2 * ow0;
        const __m512 a = _mm512_maskz_loadu_ps(__mmask16(first_lanes<float>(2 * n)), row);
        const __m512 b = _mm512_maskz_loadu_ps(__mmask16(first_lanes<float>(2 * n - 16)), row + 16);
        const __m512 left = _mm512_permutex2var_ps(a, even, b);
        const __m512 right = _mm512_permutex2var_ps(a, odd, b);
        const __mmask16 take_right = _mm512_cmp_ps_mask(right, left, _CMP_GT_OQ) |
                                     (_mm512_cmp_ps_mask(right, right, _CMP_UNORD_Q) &
                                      _mm512_cmp_ps_mask(left, left, _CMP_ORD_Q));
        const __m512 v = _mm512_mask_mov_ps(left, take_right, right);
        const __m512i position = _mm512_mask_add_epi32(
            _mm512_add_epi32(column, _mm512_set1_epi32(static_cast<int32_t>(h * W))), take_right,
            _mm512_add_epi32(column, _mm512_set1_epi32(static_cast<int32_t>(h * W))),
            _mm512_set1_epi32(1));
        const __mmask16 take =
            _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
            (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
        best = _mm512_mask_mov_ps(best, take, v);
        at = _mm512_mask_mov_epi32(at, take, position);
      }
      const auto valid = __mmask16(first_lanes<float>(n));
      float* o = out + oh * w.out_w + ow0;
      int64_t* p = indices + oh * w.out_w + ow0;
      _mm512_mask_storeu_ps(o, valid, best);
      _mm512_mask_storeu_epi64(p, __mmask8(valid),
                               _mm512_cvtepi32_epi64(_mm512_castsi512_si256(at)));
      _mm512_mask_storeu_epi64(p + 8, __mmask8(valid >> 8),
                               _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(at, 1)));
    }
  }
}
}  // namespace

void im2col(const Tensor& columns, const Tensor& input, const Window2d& window, const Taps& taps) {
  const int64_t N = input.size(0), C = input.size(1);
  const int64_t kh = window.kernel_h, kw = window.kernel_w, L = window.out_h * window.out_w;
  dispatch_floating(input.dtype(), "im2col", [&](auto tag) {
    using T = decltype(tag);
    const Image<T> in = image_of<T>(input);
    T* out = static_cast<T*>(columns.impl()->data());
    const int64_t col_n = columns.stride(0), col_row = columns.stride(1);
    const std::vector<TapRows> rows = tap_rows(window, taps, in.h);
    // Memory is written in order, as in the portable loop (window.cpp).
    if (col_n < col_row) {
      parallel_for(C * kh * kw, grain_for(N * L), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
          write_tap_of_planes(in.data + r / (kh * kw) * in.c, in.n, N, rows[r % (kh * kw)], window,
                              out + r * col_row, col_n);
        }
      });
    } else {
      parallel_for(N * C, grain_for(kh * kw * L), [&](int64_t b, int64_t e) {
        for (int64_t plane = b; plane < e; ++plane) {
          const int64_t n = plane / C, c = plane % C;
          write_plane(in.data + n * in.n + c * in.c, rows, window,
                      out + n * col_n + c * kh * kw * col_row, col_row);
        }
      });
    }
  });
}

void col2im(const Tensor& out, const Tensor& columns, const Window2d& window, const Taps& taps) {
  const int64_t N = out.size(0), C = out.size(1), H = out.size(2), W = out.size(3);
  dispatch_floating(out.dtype(), "col2im", [&](auto tag) {
    using T = decltype(tag);
    const ImagePlan<T> plan(window, taps, H, W);
    for_each_col2im_plane(static_cast<const T*>(columns.impl()->data()), columns.stride(0),
                          columns.stride(1), static_cast<T*>(out.impl()->data()), N, C, H, W,
                          window, [&](const T* plane_columns, int64_t row_stride, T* image) {
                            plan.sum(plane_columns, row_stride, window, H, W, image);
                          });
  });
}

void max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input,
                const Window2d& window) {
  const int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  // (Rows of fewer than 8 windows leave most lanes idle: the gathers do as well there.)
  const bool pairs = input.dtype() == kFloat32 && window.kernel_w == 2 && window.stride_w == 2 &&
                     window.pad_w == 0 && window.dilation_w == 1 && window.out_w >= 8 &&
                     2 * window.out_w <= W && H * W < (int64_t{1} << 31);
  if (pairs) {
    std::vector<Range> taps;
    for (int64_t oh = 0; oh < window.out_h; ++oh) {
      taps.push_back(
          inside(window.kernel_h, window.dilation_h, oh * window.stride_h - window.pad_h, H));
    }
    const float* in = input.data_ptr<float>();
    float* values = out.data_ptr<float>();
    int64_t* positions = indices.data_ptr<int64_t>();
    const int64_t plane_out = window.out_h * window.out_w;
    parallel_for(N * C, grain_for(2 * window.kernel_h * plane_out), [&](int64_t b, int64_t e) {
      for (int64_t plane = b; plane < e; ++plane) {
        max_pool_pairs(in + plane * H * W, W, window, taps, values + plane * plane_out,
                       positions + plane * plane_out);
      }
    });
    return;
  }
  const PoolPlan plan(window, H, W);
  dispatch_floating(input.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    for_each_pool_plane(static_cast<const T*>(input.impl()->data()), N * C, H, W, plan,
                        static_cast<T*>(out.impl()->data()), indices.data_ptr<int64_t>(),
                        [&](const T* image, T* values, int64_t* at) {
                          max_pool_plane_simd(image, plan, values, at);
                        });
  });
}

}  // namespace bg::cpu::BG_CPU_ISA::avx512

#endif  // BG_WINDOW_SIMD
