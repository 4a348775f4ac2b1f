#pragma once
// IDX files, the format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/, "FILE
// FORMATS"). Every number is big-endian:
//
//   bytes 0-1   zero
//   byte 2      type code: 0x08 unsigned byte, 0x09 signed byte, 0x0B short (2 bytes),
//               0x0C int (4 bytes), 0x0D float (4 bytes), 0x0E double (8 bytes)
//   byte 3      the number of dims d
//   4 * d bytes the size of each dim (32-bit), outermost first
//   then the elements in row-major order.

#include <cstdint>
#include <optional>
#include <string>

#include "bg/core.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::data {

/// The largest tensor read_idx makes unless asked for more: 1 GiB.
inline constexpr uint64_t kIdxMaxBytes = uint64_t{1} << 30;

/// Reads an IDX file, plain or gzip-compressed (recognized by the gzip magic bytes), into a tensor
/// with the dims of its header. Integer data become int64, float float32 and double float64, unless
/// `dtype` asks for float32 or float64 (any data) or int64 (integer data).
///
/// A header whose dims make a tensor of more than `max_bytes` is refused before any data is read
/// (a few kilobytes of gzip can promise gigabytes); raise it to read larger files. Memory then
/// grows with the data that actually arrives. A corrupt or truncated file throws bg::Error naming
/// the file and the byte offset where it goes wrong (bad magic, unknown type code, short header,
/// fewer data bytes than the dims promise); for a gzip file the offset counts decompressed bytes,
/// and zlib's complaint (bad CRC, truncated stream) ends the message. Reading stops where the data
/// the dims promise ends, and a byte more is an error: it means the dims are wrong or the file
/// holds something else.
Tensor read_idx(const std::string& path, std::optional<Dtype> dtype = std::nullopt,
                uint64_t max_bytes = kIdxMaxBytes);

}  // namespace bg::data

BG_API_END
