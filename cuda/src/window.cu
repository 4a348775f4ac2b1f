// Sliding-window kernels: im2col, col2im and max pooling (see Backend::Window2d for the geometry).
// One thread per element written: im2col and max pooling per output element, col2im per image
// element, which sums the column elements that came from it (no atomics, so the sums are the same
// in every run).

#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

using Window2d = Backend::Window2d;

// A 4-d tensor's data and element strides.
template <typename T>
struct Image {
  T* data;
  int64_t n, c, h, w;
};

template <typename T>
Image<T> image_of(const Tensor& t) {
  return {static_cast<T*>(t.impl()->data()), t.stride(0), t.stride(1), t.stride(2), t.stride(3)};
}

// columns[n, (c, i, j), (oh, ow)] = input[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw].
template <typename T>
__global__ void im2col_kernel(T* columns, int64_t col_n, int64_t col_row, Image<const T> in,
                              int64_t C, int64_t H, int64_t W, Window2d w, int64_t total) {
  const int64_t L = w.out_h * w.out_w, taps = w.kernel_h * w.kernel_w;
  for (int64_t e = blockIdx.x * int64_t{kThreads} + threadIdx.x; e < total;
       e += int64_t{gridDim.x} * kThreads) {
    const int64_t l = e % L, row = e / L % (C * taps), n = e / (L * C * taps);
    const int64_t c = row / taps, i = row % taps / w.kernel_w, j = row % w.kernel_w;
    const int64_t h = l / w.out_w * w.stride_h - w.pad_h + i * w.dilation_h;
    const int64_t x = l % w.out_w * w.stride_w - w.pad_w + j * w.dilation_w;
    const bool inside = h >= 0 && h < H && x >= 0 && x < W;
    columns[n * col_n + row * col_row + l] =
        inside ? in.data[n * in.n + c * in.c + h * in.h + x * in.w] : T(0);
  }
}

// out[n, c, h, x] = the sum of the column elements im2col takes from (h, x).
template <typename T>
__global__ void col2im_kernel(T* out, const T* columns, int64_t cs0, int64_t cs1, int64_t cs2,
                              int64_t C, int64_t H, int64_t W, Window2d w, int64_t total) {
  const int64_t taps = w.kernel_h * w.kernel_w;
  for (int64_t e = blockIdx.x * int64_t{kThreads} + threadIdx.x; e < total;
       e += int64_t{gridDim.x} * kThreads) {
    const int64_t x = e % W, h = e / W % H, c = e / (W * H) % C, n = e / (W * H * C);
    T sum = 0;
    for (int64_t i = 0; i < w.kernel_h; ++i) {
      const int64_t row = h + w.pad_h - i * w.dilation_h;  // = oh * stride_h when a window row
      if (row < 0 || row % w.stride_h != 0 || row / w.stride_h >= w.out_h) continue;
      for (int64_t j = 0; j < w.kernel_w; ++j) {
        const int64_t col = x + w.pad_w - j * w.dilation_w;
        if (col < 0 || col % w.stride_w != 0 || col / w.stride_w >= w.out_w) continue;
        const int64_t l = row / w.stride_h * w.out_w + col / w.stride_w;
        sum += columns[n * cs0 + (c * taps + i * w.kernel_w + j) * cs1 + l * cs2];
      }
    }
    out[e] = sum;
  }
}

// The first maximum of each window (the first NaN wins and stays), and its position h * W + x.
template <typename T>
__global__ void max_pool_kernel(T* out, int64_t* indices, Image<const T> in, int64_t C, int64_t H,
                                int64_t W, Window2d w, int64_t total) {
  for (int64_t e = blockIdx.x * int64_t{kThreads} + threadIdx.x; e < total;
       e += int64_t{gridDim.x} * kThreads) {
    const int64_t ow = e % w.out_w, oh = e / w.out_w % w.out_h;
    const int64_t c = e / (w.out_w * w.out_h) % C, n = e / (w.out_w * w.out_h * C);
    const T* plane = in.data + n * in.n + c * in.c;
    T best = 0;
    int64_t at = -1;
    for (int64_t i = 0; i < w.kernel_h; ++i) {
      const int64_t h = oh * w.stride_h - w.pad_h + i * w.dilation_h;
      if (h < 0 || h >= H) continue;
      for (int64_t j = 0; j < w.kernel_w; ++j) {
        const int64_t x = ow * w.stride_w - w.pad_w + j * w.dilation_w;
        if (x < 0 || x >= W) continue;
        const T v = plane[h * in.h + x * in.w];
        if (at < 0 || (best == best && (v > best || v != v))) {
          best = v;
          at = h * W + x;
        }
      }
    }
    out[e] = best;
    indices[e] = at;
  }
}

}  // namespace

void CudaBackend::im2col(const Tensor& columns, const Tensor& input, const Window2d& window) {
  use_device(columns.device(), "im2col");
  const int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  const int64_t total = N * C * window.kernel_h * window.kernel_w * window.out_h * window.out_w;
  if (total == 0) return;
  dispatch_floating(input.dtype(), "im2col", [&](auto tag) {
    using T = decltype(tag);
    im2col_kernel<T><<<blocks_for(total), kThreads, 0, current_stream()>>>(
        static_cast<T*>(columns.impl()->data()), columns.stride(0), columns.stride(1),
        image_of<const T>(input), C, H, W, window, total);
  });
  check_launch("im2col");
}

void CudaBackend::col2im(const Tensor& out, const Tensor& columns, const Window2d& window) {
  use_device(out.device(), "col2im");
  const int64_t total = out.numel();
  if (total == 0) return;
  dispatch_floating(out.dtype(), "col2im", [&](auto tag) {
    using T = decltype(tag);
    col2im_kernel<T><<<blocks_for(total), kThreads, 0, current_stream()>>>(
        static_cast<T*>(out.impl()->data()), static_cast<const T*>(columns.impl()->data()),
        columns.stride(0), columns.stride(1), columns.stride(2), out.size(1), out.size(2),
        out.size(3), window, total);
  });
  check_launch("col2im");
}

void CudaBackend::max_pool2d(const Tensor& out, const Tensor& indices, const Tensor& input,
                             const Window2d& window) {
  use_device(out.device(), "max_pool2d");
  const int64_t total = out.numel();
  if (total == 0) return;
  dispatch_floating(input.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    max_pool_kernel<T><<<blocks_for(total), kThreads, 0, current_stream()>>>(
        static_cast<T*>(out.impl()->data()), static_cast<int64_t*>(indices.impl()->data()),
        image_of<const T>(input), input.size(1), input.size(2), input.size(3), window, total);
  });
  check_launch("max_pool2d");
}

}  // namespace bg::cuda
