#pragma once
// The elementwise machinery every pointwise kernel shares: one templated kernel that walks N
// same-shaped strided operands (operand 0 is usually the output) and calls a device functor on the
// addresses of element i. Broadcast operands have zero strides; dims are merged where every
// operand is contiguous across them (as the CPU's StridedLoop does), so a contiguous tensor, or one
// plus broadcast numbers, becomes a single dim and its elements are found without divisions.

#include <array>
#include <cstdint>
#include <utility>

#include "bg/core/tensor_impl.h"
#include "runtime.h"

namespace bg::cuda {

inline constexpr int kThreads = 256;

/// Blocks for a grid-stride loop over n items.
inline unsigned blocks_for(int64_t n) {
  constexpr int64_t kMaxBlocks = int64_t{1} << 16;
  return static_cast<unsigned>(
      std::min(kMaxBlocks, std::max<int64_t>(1, (n + kThreads - 1) / kThreads)));
}

/// The geometry of N same-shaped operands, innermost dim first, strides in bytes.
template <int N>
struct Strided {
  int ndim = 0;
  int64_t sizes[kMaxDims]{};
  int64_t strides[kMaxDims][N]{};
  char* data[N];

  explicit Strided(const std::array<const Tensor*, N>& operands) {
    const Shape& shape = operands[0]->sizes();
    for (int k = 0; k < N; ++k) data[k] = static_cast<char*>(operands[k]->impl()->data());
    for (size_t i = shape.size(); i-- > 0;) {
      if (shape[i] == 1) continue;
      int64_t step[N];
      for (int k = 0; k < N; ++k) {
        step[k] =
            operands[k]->strides()[i] * static_cast<int64_t>(element_size(operands[k]->dtype()));
      }
      bool mergeable = ndim > 0;
      for (int k = 0; k < N && mergeable; ++k) {
        mergeable = step[k] == strides[ndim - 1][k] * sizes[ndim - 1];
      }
      if (mergeable) {
        sizes[ndim - 1] *= shape[i];
      } else {
        sizes[ndim] = shape[i];
        for (int k = 0; k < N; ++k) strides[ndim][k] = step[k];
        ++ndim;
      }
    }
  }

  /// The addresses of element i (row-major) of every operand.
  __device__ void locate(int64_t i, char* (&p)[N]) const {
    for (int k = 0; k < N; ++k) p[k] = data[k];
    if (ndim == 1) {  // contiguous, or contiguous plus broadcast numbers: no division
      for (int k = 0; k < N; ++k) p[k] += i * strides[0][k];
      return;
    }
    for (int d = 0; d < ndim; ++d) {
      const int64_t coordinate = i % sizes[d];
      i /= sizes[d];
      for (int k = 0; k < N; ++k) p[k] += coordinate * strides[d][k];
    }
  }
};

template <int N, typename F>
__global__ void for_each_kernel(Strided<N> geometry, int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    char* p[N];
    geometry.locate(i, p);
    f(p);
  }
}

/// Calls f(char* (&p)[N]) with the addresses of every element of the operands, on the current
/// device's stream.
template <int N, typename F>
void for_each(const char* op, const std::array<const Tensor*, N>& operands, const F& f) {
  const int64_t n = operands[0]->numel();
  if (n == 0) return;
  for_each_kernel<N><<<blocks_for(n), kThreads, 0, current_stream()>>>(Strided<N>(operands), n, f);
  check_launch(op);
}

/// out[i] = f(in[i]...) for typed operands: Out and In... are the element types.
template <typename Out, typename F, typename... In>
struct MapFunctor {
  F f;
  template <size_t... K>
  __device__ void apply(char* const* p, std::index_sequence<K...>) const {
    *reinterpret_cast<Out*>(p[0]) = f(*reinterpret_cast<const In*>(p[K + 1])...);
  }
  __device__ void operator()(char* (&p)[sizeof...(In) + 1]) const {
    apply(p, std::index_sequence_for<In...>{});
  }
};

template <typename Out, typename... In, typename F>
void map(const char* op, const Tensor& out, const std::array<const Tensor*, sizeof...(In)>& in,
         const F& f) {
  std::array<const Tensor*, sizeof...(In) + 1> operands{&out};
  for (size_t k = 0; k < in.size(); ++k) operands[k + 1] = in[k];
  for_each<sizeof...(In) + 1>(op, operands, MapFunctor<Out, F, In...>{f});
}

/// f(T&...) on the elements of same-dtype operands, each passed by reference (in-place updates).
template <typename T, int N, typename F>
struct UpdateFunctor {
  F f;
  template <size_t... K>
  __device__ void apply(char* const* p, std::index_sequence<K...>) const {
    f(*reinterpret_cast<T*>(p[K])...);
  }
  __device__ void operator()(char* (&p)[N]) const { apply(p, std::make_index_sequence<N>{}); }
};

template <typename T, int N, typename F>
void update(const char* op, const std::array<const Tensor*, N>& operands, const F& f) {
  for_each<N>(op, operands, UpdateFunctor<T, N, F>{f});
}

}  // namespace bg::cuda
