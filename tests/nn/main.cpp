#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

// The allocation tests ask for terabytes: under AddressSanitizer malloc then returns null, as it
// does without it, instead of aborting the process. The sanitizer's runtime finds this function by
// its dynamic symbol: it must stay visible although the build hides symbols by default.
extern "C" __attribute__((visibility("default"))) const char* __asan_default_options() {
  return "allocator_may_return_null=1";
}
