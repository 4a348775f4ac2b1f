#pragma once
// The main() of the test programs whose suites run the CPU backend's kernels (test_core, test_nn).
//
// They run on the kernels chosen for this CPU, or on those the environment variable
// BG_CPU_KERNELS names (Note [One backend per instruction set], core/src/cpu/cpu_backend.h):
// ctest runs them once per level (tests/core/CMakeLists.txt). A level that this CPU cannot run, or
// that this build lacks (a BG_NATIVE build has one), exits with 77, which ctest reports as skipped.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "bg/core/backend.h"
#include "bg/core/error.h"

// The allocation tests ask for terabytes: under AddressSanitizer malloc then returns null, as it
// does without it, instead of aborting the process. The sanitizer's runtime finds this function by
// its dynamic symbol: it must stay visible although the build hides symbols by default.
extern "C" __attribute__((visibility("default"))) const char* __asan_default_options() {
  return "allocator_may_return_null=1";
}

int main(int argc, char** argv) {
  try {
    std::printf("[bayesgrad] CPU kernels: %s\n", bg::cpu_kernels());
  } catch (const bg::Error& e) {
    std::printf("[bayesgrad] skipped: %s\n", e.what());
    return 77;
  }
  return doctest::Context(argc, argv).run();
}
