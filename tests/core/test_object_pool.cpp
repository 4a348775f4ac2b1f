// The object pool (object_pool.h, Note [Object pool]): a freed block comes back for the next
// request of its size class on the same thread, from whichever thread freed it; large requests and
// bad ones go to operator new; tensors and graphs built on it behave as before. And SmallVector,
// the other way ops avoid the heap, keeps what fits inline.

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "../../core/src/sanitizers.h"  // the library's own test for AddressSanitizer
#include "bg/core/object_pool.h"
#include "test_util.h"

using namespace bg;

namespace {
// Under AddressSanitizer the pool steps aside (every block comes from operator new, so a use after
// free is reported): only the reuse of addresses is not checked then. The library's test, which
// knows clang's way of saying so as well as GCC's.
constexpr bool kPooled = !detail::kBypassPools;
}  // namespace

TEST_CASE("object pool: a freed block is handed out again for a request of its size class") {
  void* first = detail::pool_allocate(100);
  std::memset(first, 1, 100);
  CHECK(reinterpret_cast<uintptr_t>(first) % alignof(std::max_align_t) == 0);
  detail::pool_deallocate(first, 100);
  void* second = detail::pool_allocate(112);  // 100 and 112 bytes share the 16-byte class 97..112
  if (kPooled) CHECK(second == first);
  std::memset(second, 2, 112);
  void* other = detail::pool_allocate(200);  // another class does not take a freed 112-byte block
  detail::pool_deallocate(second, 112);
  void* third = detail::pool_allocate(200);
  CHECK(third != second);
  detail::pool_deallocate(other, 200);
  detail::pool_deallocate(third, 200);
}

TEST_CASE("object pool: requests beyond its classes, and empty ones, work as operator new's") {
  for (size_t n : {size_t{0}, size_t{1}, size_t{1024}, size_t{1025}, size_t{1} << 20}) {
    void* p = detail::pool_allocate(n);
    REQUIRE(p != nullptr);
    if (n > 0) std::memset(p, 3, n);
    detail::pool_deallocate(p, n);
  }
  detail::pool_deallocate(nullptr, 64);  // a null pointer is ignored
}

TEST_CASE("object pool: a block freed on another thread serves that thread's next request") {
  void* block = detail::pool_allocate(48);
  void* reused = nullptr;
  std::thread([&] {
    detail::pool_deallocate(block, 48);
    reused = detail::pool_allocate(48);
    std::memset(reused, 4, 48);
    detail::pool_deallocate(reused, 48);
  }).join();  // the thread ends with the block in its cache, which goes back to operator delete
  if (kPooled) CHECK(reused == block);
}

TEST_CASE("object pool: many blocks at once, beyond what a thread keeps, all come back intact") {
  std::vector<void*> blocks;
  for (int i = 0; i < 20000; ++i) {
    const size_t n = 16 + static_cast<size_t>(i % 64) * 16;
    auto* p = static_cast<unsigned char*>(detail::pool_allocate(n));
    std::memset(p, i & 0xff, n);
    blocks.push_back(p);
  }
  for (int i = 0; i < 20000; ++i) {
    const size_t n = 16 + static_cast<size_t>(i % 64) * 16;
    const auto* p = static_cast<unsigned char*>(blocks[static_cast<size_t>(i)]);
    CHECK(p[0] == (i & 0xff));
    CHECK(p[n - 1] == (i & 0xff));
    detail::pool_deallocate(blocks[static_cast<size_t>(i)], n);
  }
}

TEST_CASE(
    "object pool: graphs built and freed on several threads at once give the same gradients") {
  const Tensor x = bg::arange(6, TensorOptions(kFloat64)).reshape({2, 3});
  auto gradient = [&] {
    Tensor w = x.clone().requires_grad_(true);
    ((w * w).sum(1) * w.mean()).sum().backward();
    return w.grad();
  };
  const Tensor expected = gradient();
  std::vector<std::thread> threads;
  std::vector<int> same(4, 0);
  for (size_t t = 0; t < same.size(); ++t) {
    threads.emplace_back([&, t] {
      bool all = true;
      for (int i = 0; i < 200; ++i) all = all && bg::equal(gradient(), expected);
      same[t] = all ? 1 : 0;
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int s : same) CHECK(s == 1);
}

TEST_CASE("small vector: inserting within the inline capacity stays inline") {
  Shape sizes{2, 3};
  const auto* inside = reinterpret_cast<const char*>(&sizes);
  const auto is_inline = [&] {
    const auto* data = reinterpret_cast<const char*>(sizes.data());
    return data >= inside && data < inside + sizeof(sizes);
  };
  REQUIRE(is_inline());
  sizes.insert(sizes.begin(), 1);
  sizes.insert(sizes.end(), {4, 5});
  CHECK(is_inline());
  CHECK(sizes == Shape{1, 2, 3, 4, 5});
  sizes.insert(sizes.begin() + 1, {7, 8});  // 7 elements: beyond the 6 inline ones
  CHECK(!is_inline());
  CHECK(sizes == Shape{1, 7, 8, 2, 3, 4, 5});
}
