// Indexing kernels: index_select, gather (reads through an index), and index_add, scatter_add
// (writes through an index). Indices were checked against the sizes by the frontend.
//
// The adds use atomics, since several elements may land on one place: the sum is the same, but
// the order in which floats are added, and so the last bits, may vary from run to run (the CPU
// adds in a fixed order). bool "adds" are logical or: they only ever store true, so they need no
// atomics.

#include <type_traits>

#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

// Row-major coordinates of element i of `sizes`, turned into offsets (in elements) of several
// strided tensors, with one dim (`dim`) given separately.
struct Geometry {
  int ndim = 0;
  int64_t sizes[kMaxDims]{};
  int64_t strides[3][kMaxDims]{};

  Geometry(const Shape& shape, const std::array<const Tensor*, 3>& tensors) {
    ndim = static_cast<int>(shape.size());
    for (int d = 0; d < ndim; ++d) {
      sizes[d] = shape[d];
      for (int k = 0; k < 3; ++k) strides[k][d] = tensors[k] ? tensors[k]->strides()[d] : 0;
    }
  }

  // Offsets of element i in tensors 0..2, leaving out `dim`, whose coordinate is returned.
  __device__ int64_t locate(int64_t i, int dim, int64_t (&offset)[3]) const {
    offset[0] = offset[1] = offset[2] = 0;
    int64_t along = 0;
    for (int d = ndim - 1; d >= 0; --d) {
      const int64_t coordinate = i % sizes[d];
      i /= sizes[d];
      if (d == dim) {
        along = coordinate;
        continue;
      }
      for (int k = 0; k < 3; ++k) offset[k] += coordinate * strides[k][d];
    }
    return along;
  }
};

template <typename T>
__device__ void add_to(T* target, T value) {
  if constexpr (std::is_same_v<T, bool>) {
    if (value) *target = true;
  } else if constexpr (std::is_same_v<T, int64_t>) {
    // Two's complement addition: the unsigned atomic wraps exactly like the CPU's int64 add.
    atomicAdd(reinterpret_cast<unsigned long long*>(target),
              static_cast<unsigned long long>(value));
  } else {
    atomicAdd(target, value);
  }
}

// out[p] = in[p with p[dim] = index[p[dim]]] over out's elements (index 1-d).
template <typename T>
__global__ void index_select_kernel(T* out, const T* in, const int64_t* index, int64_t index_stride,
                                    Geometry g, int dim, int64_t in_dim_stride, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads) {
    int64_t offset[3];
    const int64_t j = g.locate(i, dim, offset);  // offset[1]: in
    out[i] = in[offset[1] + index[j * index_stride] * in_dim_stride];
  }
}

// out[p with p[dim] = index[p[dim]]] += src[p] over src's elements (index 1-d, out contiguous).
template <typename T>
__global__ void index_add_kernel(T* out, const T* src, const int64_t* index, int64_t index_stride,
                                 Geometry g, int dim, int64_t out_dim_stride, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads) {
    int64_t offset[3];
    const int64_t j = g.locate(i, dim, offset);  // offset[0]: out, offset[1]: src
    add_to(out + offset[0] + index[j * index_stride] * out_dim_stride,
           src[offset[1] + j * g.strides[1][dim]]);
  }
}

// out[p] = in[p with p[dim] = index[p]] over out's elements (index has out's sizes).
template <typename T>
__global__ void gather_kernel(T* out, const T* in, const int64_t* index, Geometry g, int dim,
                              int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads) {
    int64_t offset[3];
    const int64_t j = g.locate(i, dim, offset);  // 0: out, 1: in, 2: index
    out[offset[0] + j * g.strides[0][dim]] =
        in[offset[1] + index[offset[2] + j * g.strides[2][dim]] * g.strides[1][dim]];
  }
}

// out[p with p[dim] = index[p]] += src[p] over src's elements (index has src's sizes).
template <typename T>
__global__ void scatter_add_kernel(T* out, const T* src, const int64_t* index, Geometry g, int dim,
                                   int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{kThreads} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * kThreads) {
    int64_t offset[3];
    const int64_t j = g.locate(i, dim, offset);  // 0: out, 1: src, 2: index
    const int64_t target = index[offset[2] + j * g.strides[2][dim]];
    add_to(out + offset[0] + target * g.strides[0][dim], src[offset[1] + j * g.strides[1][dim]]);
  }
}

template <typename T>
T* data_of(const Tensor& t) {
  return static_cast<T*>(t.impl()->data());
}

}  // namespace

void CudaBackend::index_select(const Tensor& out, const Tensor& in, int64_t dim,
                               const Tensor& index) {
  use_device(out.device(), "index_select");
  const int64_t n = out.numel();
  if (n == 0) return;
  // Tensor 0 is out (contiguous), 1 is in; the index is 1-d.
  const Geometry g(out.sizes(), {&out, &in, nullptr});
  dispatch_all(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    index_select_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        data_of<T>(out), data_of<const T>(in), data_of<const int64_t>(index), index.stride(0), g,
        static_cast<int>(dim), in.stride(dim), n);
  });
  check_launch("index_select");
}

void CudaBackend::index_add(const Tensor& out, int64_t dim, const Tensor& index,
                            const Tensor& src) {
  use_device(out.device(), "index_add");
  const int64_t n = src.numel();
  if (n == 0) return;
  const Geometry g(src.sizes(), {&out, &src, nullptr});
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    index_add_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        data_of<T>(out), data_of<const T>(src), data_of<const int64_t>(index), index.stride(0), g,
        static_cast<int>(dim), out.stride(dim), n);
  });
  check_launch("index_add");
}

void CudaBackend::gather(const Tensor& out, const Tensor& in, int64_t dim, const Tensor& index) {
  use_device(out.device(), "gather");
  const int64_t n = out.numel();
  if (n == 0) return;
  const Geometry g(out.sizes(), {&out, &in, &index});
  dispatch_all(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    gather_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        data_of<T>(out), data_of<const T>(in), data_of<const int64_t>(index), g,
        static_cast<int>(dim), n);
  });
  check_launch("gather");
}

void CudaBackend::scatter_add(const Tensor& out, int64_t dim, const Tensor& index,
                              const Tensor& src) {
  use_device(out.device(), "scatter_add");
  const int64_t n = src.numel();
  if (n == 0) return;
  const Geometry g(src.sizes(), {&out, &src, &index});
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    scatter_add_kernel<T><<<blocks_for(n), kThreads, 0, current_stream()>>>(
        data_of<T>(out), data_of<const T>(src), data_of<const int64_t>(index), g,
        static_cast<int>(dim), n);
  });
  check_launch("scatter_add");
}

}  // namespace bg::cuda
