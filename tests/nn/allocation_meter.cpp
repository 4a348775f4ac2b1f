// The global operator new and delete of the nn test suite, counting for AllocationMeter. Each block
// carries a header with its size and whether a meter counted it, so that freeing a block allocated
// before the meter started does not count against it.

#include "allocation_meter.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<bool> metering{false};
std::atomic<int64_t> live{0};
std::atomic<int64_t> peak_live{0};

struct alignas(std::max_align_t) Header {
  size_t size;
  bool counted;
};

void* allocate(size_t size) {
  auto* header = static_cast<Header*>(std::malloc(sizeof(Header) + size));
  if (header == nullptr) return nullptr;
  header->size = size;
  header->counted = metering.load(std::memory_order_relaxed);
  if (header->counted) {
    const int64_t now = live.fetch_add(static_cast<int64_t>(size)) + static_cast<int64_t>(size);
    int64_t seen = peak_live.load();
    while (now > seen && !peak_live.compare_exchange_weak(seen, now)) {
    }
  }
  return header + 1;
}

void deallocate(void* block) {
  if (block == nullptr) return;
  Header* header = static_cast<Header*>(block) - 1;
  if (header->counted) live.fetch_sub(static_cast<int64_t>(header->size));
  std::free(header);
}

void* allocate_or_throw(size_t size) {
  void* block = allocate(size);
  if (block == nullptr) throw std::bad_alloc();
  return block;
}

}  // namespace

namespace bg::test {

AllocationMeter::AllocationMeter() {
  live = 0;
  peak_live = 0;
  metering = true;
}
AllocationMeter::~AllocationMeter() { metering = false; }
size_t AllocationMeter::peak() const { return static_cast<size_t>(peak_live.load()); }

}  // namespace bg::test

void* operator new(size_t size) { return allocate_or_throw(size); }
void* operator new[](size_t size) { return allocate_or_throw(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void operator delete(void* block) noexcept { deallocate(block); }
void operator delete[](void* block) noexcept { deallocate(block); }
void operator delete(void* block, size_t) noexcept { deallocate(block); }
void operator delete[](void* block, size_t) noexcept { deallocate(block); }
void operator delete(void* block, const std::nothrow_t&) noexcept { deallocate(block); }
void operator delete[](void* block, const std::nothrow_t&) noexcept { deallocate(block); }
