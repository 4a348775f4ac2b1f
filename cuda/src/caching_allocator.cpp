#include "caching_allocator.h"

#include <bit>

#include "bg/core/error.h"
#include "runtime.h"

namespace bg::cuda {

size_t CachingAllocator::size_class(size_t nbytes) {
  constexpr size_t kSmallUnit = 512, kSmallLimit = size_t{1} << 20;
  if (nbytes <= kSmallLimit) return (nbytes + kSmallUnit - 1) / kSmallUnit * kSmallUnit;
  // A quarter of the largest power of two not above nbytes.
  const size_t unit = std::bit_floor(nbytes) / 4;
  return (nbytes + unit - 1) / unit * unit;
}

void* CachingAllocator::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  const size_t size = size_class(nbytes);
  std::lock_guard lock(mutex_);
  if (auto it = free_blocks_.find(size); it != free_blocks_.end() && !it->second.empty()) {
    void* block = it->second.back();
    it->second.pop_back();
    cached_bytes_ -= size;
    return block;
  }
  use_device(Device::cuda(static_cast<int16_t>(device_index_)), "cuda allocate");
  void* block = nullptr;
  cudaError_t status = cudaMalloc(&block, size);
  if (status == cudaErrorMemoryAllocation && cached_bytes_ > 0) {
    cudaGetLastError();  // clears the failure, which is not sticky
    release_cached();
    status = cudaMalloc(&block, size);
  }
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    throw Error(bg::detail::concat("cuda allocate: out of memory: cannot allocate ", size,
                                   " bytes on cuda:", device_index_, " (", free_bytes, " of ",
                                   total_bytes, " bytes free)"));
  }
  check(status, "cuda allocate");
  return block;
}

void CachingAllocator::deallocate(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  const size_t size = size_class(nbytes);
  std::lock_guard lock(mutex_);
  free_blocks_[size].push_back(ptr);
  cached_bytes_ += size;
}

void CachingAllocator::release_cached() {
  // cudaFree waits for the device, so no queued kernel still uses a block freed here.
  for (auto& [size, blocks] : free_blocks_) {
    for (void* block : blocks) check(cudaFree(block), "cuda allocate");
  }
  free_blocks_.clear();
  cached_bytes_ = 0;
}

}  // namespace bg::cuda
