// libFuzzer target for the safetensors reader: see safetensors_fuzz.h for what it checks, and
// tests/fuzz/CMakeLists.txt for how to build and run it.

#include <cstddef>
#include <cstdint>

#include "safetensors_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bg::fuzz::check_safetensors_bytes({reinterpret_cast<const char*>(data), size});
  return 0;
}
