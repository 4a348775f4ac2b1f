// The CUDA backend's entry points: its registration in core's backend table, the device queries,
// and the tensor helpers the kernel files share.

#include <memory>
#include <vector>

#include "bg/core/factory.h"
#include "bg/core/tensor_impl.h"
#include "caching_allocator.h"
#include "cuda_backend.h"
#include "registration.h"
#include "runtime.h"

namespace bg::cuda {

void detail::register_backend() {
  // Never destroyed: tensors freed during static destruction may still need it. Creating it calls
  // no CUDA function; devices are probed on first use (device_count()).
  static CudaBackend* backend = new CudaBackend;
  bg::register_backend(DeviceType::CUDA, backend);
}

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

int CudaBackend::device_count() { return visible_devices(); }

void CudaBackend::synchronize() {
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
