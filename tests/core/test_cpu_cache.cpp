// The CPU allocator's block caches (cpu_cache.h, Note [CPU block caches] in storage.cpp): freed
// blocks come back for the next request of their size class, from any thread, within the caches'
// bounds; release_cpu_cache() empties them.

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "test_util.h"

using namespace bg;

TEST_CASE("cpu cache: a freed small block is handed out again for a request of its size class") {
  Allocator& allocator = cpu_allocator();
  release_cpu_cache();
  void* first = allocator.allocate(1000);
  std::memset(first, 1, 1000);
  allocator.deallocate(first, 1000);
  CHECK(cpu_cache_stats().small_blocks == 1);
  CHECK(cpu_cache_stats().small_bytes == 1024);  // 1000 bytes take the 1 KiB class
  void* second = allocator.allocate(1024);
  CHECK(second == first);
  CHECK(reinterpret_cast<uintptr_t>(second) % 64 == 0);
  CHECK(cpu_cache_stats().small_blocks == 0);
  // Another class does not take it.
  allocator.deallocate(second, 1024);
  void* other = allocator.allocate(4000);
  CHECK(other != second);
  CHECK(cpu_cache_stats().small_blocks == 1);
  allocator.deallocate(other, 4000);
  release_cpu_cache();
  CHECK(cpu_cache_stats().small_blocks == 0);
  CHECK(cpu_cache_stats().small_bytes == 0);
}

TEST_CASE("cpu cache: tensors reuse the storage of tensors freed before them") {
  release_cpu_cache();
  const float* data = nullptr;
  {
    const Tensor a = ones({20});  // 80 bytes: the 128-byte class
    data = a.data_ptr<float>();
  }
  const Tensor b = zeros({16});  // 64 bytes: the 64-byte class, not a's
  const Tensor c = full({30}, 2.0f);
  CHECK(c.data_ptr<float>() == data);
  CHECK(c.sum().item<float>() == 60.0f);
  CHECK(b.sum().item<float>() == 0.0f);
}

TEST_CASE("cpu cache: blocks of 128 KiB and more bypass the small cache") {
  Allocator& allocator = cpu_allocator();
  release_cpu_cache();
  const size_t large = size_t{200} << 10;
  void* block = allocator.allocate(large);
  allocator.deallocate(block, large);
  CpuCacheStats stats = cpu_cache_stats();
  CHECK(stats.small_blocks == 0);
  CHECK(stats.large_blocks == 1);
  CHECK(stats.large_bytes == large);  // whole pages: 200 KiB is 50 of them
  // A small request does not take it; the same large size does.
  void* small = allocator.allocate(64 << 10);
  CHECK(small != block);
  void* again = allocator.allocate(large);
  CHECK(again == block);
  allocator.deallocate(small, 64 << 10);
  allocator.deallocate(again, large);
  release_cpu_cache();
  stats = cpu_cache_stats();
  CHECK(stats.large_blocks == 0);
  CHECK(stats.large_bytes == 0);
}

TEST_CASE("cpu cache: the small cache is bounded; what does not fit goes back to the system") {
  Allocator& allocator = cpu_allocator();
  release_cpu_cache();
  // 1024 blocks of 64 KiB: 64 MiB, twice the small cache's 32 MiB.
  const size_t size = size_t{64} << 10;
  std::vector<void*> blocks(1024);
  for (void*& block : blocks) block = allocator.allocate(size);
  for (void* block : blocks) allocator.deallocate(block, size);
  const CpuCacheStats stats = cpu_cache_stats();
  CHECK(stats.small_bytes == size_t{32} << 20);
  CHECK(stats.small_blocks == 512);
  release_cpu_cache();
}

TEST_CASE("cpu cache: threads allocating and freeing at once never share a block") {
  Allocator& allocator = cpu_allocator();
  release_cpu_cache();
  constexpr int kThreads = 4, kRounds = 2000;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each thread fills its blocks with its own byte and checks nobody else wrote them.
      const auto mark = static_cast<unsigned char>(t + 1);
      std::vector<std::pair<unsigned char*, size_t>> held;
      for (int i = 0; i < kRounds; ++i) {
        const size_t size = size_t{64} << ((i * 7 + t) % 8);  // 64 B to 8 KiB
        auto* block = static_cast<unsigned char*>(allocator.allocate(size));
        std::memset(block, mark, size);
        held.emplace_back(block, size);
        if (held.size() > 8) {  // free the oldest: blocks move between threads via the cache
          auto [old, old_size] = held.front();
          for (size_t k = 0; k < old_size; ++k) failures[t] += old[k] != mark;
          allocator.deallocate(old, old_size);
          held.erase(held.begin());
        }
      }
      for (auto [block, size] : held) {
        for (size_t k = 0; k < size; ++k) failures[t] += block[k] != mark;
        allocator.deallocate(block, size);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) CHECK(failures[t] == 0);
  release_cpu_cache();
}
