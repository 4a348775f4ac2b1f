// The CUDA backend's entry points: how core reaches it, bg::cuda's public functions, and the
// tensor helpers the kernel files share.

#include <memory>
#include <vector>

#include "bg/core/cuda.h"
#include "bg/core/factory.h"
#include "bg/core/tensor_impl.h"
#include "caching_allocator.h"
#include "cuda_backend.h"
#include "runtime.h"

namespace bg::cuda {

namespace detail {

// Called by core's backend table (core/src/backend.cpp) for every CUDA op.
Backend& cuda_backend() {
  BG_CHECK(visible_devices() > 0, "cuda",
           "no CUDA device is available (no GPU, or no driver); bg::cuda::is_available() tells "
           "before tensors are placed on one");
  static CudaBackend backend;
  return backend;
}

}  // namespace detail

Allocator& CudaBackend::allocator(Device device) {
  // One allocator per device, never destroyed: tensors freed during static destruction may still
  // hand memory back.
  static auto* allocators = [] {
    auto* all = new std::vector<std::unique_ptr<CachingAllocator>>();
    for (int i = 0; i < visible_devices(); ++i)
      all->push_back(std::make_unique<CachingAllocator>(i));
    return all;
  }();
  BG_CHECK(device.index >= 0 && device.index < visible_devices(), "cuda allocate", device.str(),
           " is not available (", visible_devices(), " CUDA devices visible)");
  return *(*allocators)[static_cast<size_t>(device.index)];
}

bool is_available() { return visible_devices() > 0; }

int device_count() { return visible_devices(); }

void synchronize() {
  for (int i = 0; i < visible_devices(); ++i) {
    use_device(Device::cuda(static_cast<int16_t>(i)), "cuda synchronize");
    sync_current_stream("cuda synchronize");
  }
}

Tensor empty_on(const Shape& sizes, Dtype dtype, Device device) {
  return empty(sizes, TensorOptions(dtype).device(device));
}

Tensor contiguous_on_device(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor copy = empty_on(t.sizes(), t.dtype(), t.device());
  copy_on_device(copy, t);
  return copy;
}

}  // namespace bg::cuda
