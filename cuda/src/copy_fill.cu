// fill, and copies with dtype conversion between tensors on one GPU.

#include <type_traits>

#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

// static_cast, except that a float that does not fit an int64 (NaN, +-inf, huge) becomes
// INT64_MIN, as on the CPU (cpu/copy_fill.cpp), instead of undefined behaviour.
template <typename To, typename From>
__host__ __device__ To convert(From v) {
  if constexpr (std::is_floating_point_v<From> && std::is_same_v<To, int64_t>) {
    constexpr From limit = static_cast<From>(9223372036854775808.0);  // 2^63
    if (!(v >= -limit && v < limit)) return static_cast<int64_t>(0x8000000000000000ULL);
  }
  return static_cast<To>(v);
}

template <typename T>
struct Constant {
  T value;
  __device__ T operator()() const { return value; }
};

template <typename To, typename From>
struct Convert {
  __device__ To operator()(From v) const { return convert<To>(v); }
};

}  // namespace

void CudaBackend::fill(const Tensor& out, const Scalar& value) {
  use_device(out.device(), "fill");
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = value.is_floating() ? convert<T>(value.to<double>()) : value.to<T>();
    map<T>("fill", out, {}, Constant<T>{v});
  });
}

void copy_on_device(const Tensor& dst, const Tensor& src) {
  use_device(dst.device(), "copy");
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    const size_t bytes = static_cast<size_t>(dst.numel()) * element_size(dst.dtype());
    if (bytes == 0) return;
    check(cudaMemcpyAsync(dst.impl()->data(), src.impl()->data(), bytes, cudaMemcpyDeviceToDevice,
                          current_stream()),
          "copy");
    return;
  }
  dispatch_all(dst.dtype(), [&](auto to_tag) {
    dispatch_all(src.dtype(), [&](auto from_tag) {
      using To = decltype(to_tag);
      using From = decltype(from_tag);
      map<To, From>("copy", dst, {&src}, Convert<To, From>{});
    });
  });
}

}  // namespace bg::cuda
