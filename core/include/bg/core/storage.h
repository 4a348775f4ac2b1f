#pragma once
// Storage: a block of memory on one device, shared by a tensor and all its views.
//
// Note [Version counter]
// Every in-place write bumps the storage's version. Autograd records the version when it saves a
// tensor for backward and checks it when backward uses the tensor, so reading values that were
// overwritten in the meantime is an error instead of a silently wrong gradient. The counter lives
// on the storage so that every view (and detach()) shares it.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "bg/core/api.h"
#include "bg/core/device.h"

BG_API_BEGIN

namespace bg {

/// Hands out and takes back raw memory for one device.
class Allocator {
 public:
  virtual ~Allocator() = default;
  /// `nbytes` of memory aligned to at least 64 bytes; nullptr for 0 bytes.
  virtual void* allocate(size_t nbytes) = 0;
  virtual void deallocate(void* ptr, size_t nbytes) = 0;
};

/// The CPU allocator (64-byte aligned, so Eigen's AVX-512 loads are aligned).
Allocator& cpu_allocator();

class Storage {
 public:
  /// Allocates `nbytes` on `device` with `allocator`.
  Storage(size_t nbytes, Device device, Allocator& allocator);
  /// Wraps `nbytes` at `data` that the caller owns (bg::from_blob): nothing is allocated, and
  /// `deleter(data)` runs when the storage dies (nothing runs without one). It must not throw.
  Storage(void* data, size_t nbytes, Device device, std::function<void(void*)> deleter);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

  uint32_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  Allocator* allocator_ = nullptr;      // what allocated data_, or null for the caller's memory
  std::function<void(void*)> deleter_;  // what frees the caller's memory, if anything
  std::atomic<uint32_t> version_{0};
};

}  // namespace bg

BG_API_END
