// libFuzzer target for read_idx, plain and gzip (recognized by the first bytes): see reader_fuzz.h.

#include <cstddef>
#include <cstdint>

#include "bg/nn/data/idx.h"
#include "reader_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bg::fuzz::BytesFile file({reinterpret_cast<const char*>(data), size}, ".idx");
  // A limit of 64 MiB keeps within libFuzzer's memory limit what a few bytes of gzip can promise.
  bg::fuzz::loads([&] { bg::data::read_idx(file.path(), std::nullopt, uint64_t{64} << 20); });
  bg::fuzz::loads([&] { bg::data::read_idx(file.path(), bg::kFloat64, uint64_t{64} << 20); });
  return 0;
}
