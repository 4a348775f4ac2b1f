#pragma once
// Measures the memory a piece of code allocates with operator new (allocation_meter.cpp replaces
// the global operator new and delete of the nn test suite): how the tests check that readers keep
// their memory within a small multiple of their input.

#include <cstddef>

namespace bg::test {

/// While alive, counts the bytes allocated with operator new on every thread and not yet freed;
/// peak() is the most there were at once. Blocks allocated before it started are not counted.
class AllocationMeter {
 public:
  AllocationMeter();
  ~AllocationMeter();
  AllocationMeter(const AllocationMeter&) = delete;
  AllocationMeter& operator=(const AllocationMeter&) = delete;

  size_t peak() const;
};

}  // namespace bg::test
