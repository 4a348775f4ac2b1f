#include "bg/nn/data/idx.h"

#include <zlib.h>

#include <algorithm>
#include <bit>
#include <string_view>
#include <vector>

#include "io/regular_file.h"

namespace bg::data {
namespace {

constexpr const char* kOp = "read_idx";

struct IdxType {
  uint8_t code;
  const char* name;
  int64_t bytes;
  bool floating;
};

constexpr IdxType kTypes[] = {
    {0x08, "unsigned byte", 1, false}, {0x09, "signed byte", 1, false}, {0x0B, "short", 2, false},
    {0x0C, "int", 4, false},           {0x0D, "float", 4, true},        {0x0E, "double", 8, true},
};

const IdxType* find_type(uint8_t code) {
  for (const IdxType& type : kTypes) {
    if (type.code == code) return &type;
  }
  return nullptr;
}

std::string hex_byte(unsigned value) {
  constexpr char kDigits[] = "0123456789abcdef";
  return {'0', 'x', kDigits[(value >> 4) & 0xF], kDigits[value & 0xF]};
}

// Reads a file through zlib, which inflates gzip data and passes any other file through unchanged,
// and counts the bytes read so that errors can say where the file went wrong.
class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path) {
    detail::RegularFile file(path, detail::concat(kOp, ": ", path));
    file_ = gzdopen(file.fd(), "rb");
    if (file_ == nullptr) file.fail("cannot read the file");
    zlib_name_ = detail::concat("<fd:", file.fd(), ">: ");
    file.release();  // gzclose closes it
    gzbuffer(file_, 1 << 17);
  }
  ~Reader() { gzclose(file_); }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  uint64_t offset() const { return offset_; }

  // Reads up to `n` bytes into `out`; fewer only at the end of the (decompressed) file.
  uint64_t read(void* out, uint64_t n) {
    uint64_t done = 0;
    while (done < n) {
      // gzread counts in unsigned and answers in int, so read at most 1 GiB at a time.
      const auto chunk = static_cast<unsigned>(std::min<uint64_t>(n - done, uint64_t{1} << 30));
      const int got = gzread(file_, static_cast<char*>(out) + done, chunk);
      // zlib inflates ahead of what it hands out, so this offset is where reading stopped, not
      // necessarily where the damage is.
      if (got < 0) fail("corrupt gzip data, found when reading at byte offset ", offset_ + done);
      if (got == 0) {
        // zlib reports a gzip stream cut short as an end of file, and says so in gzerror.
        int status = Z_OK;
        gzerror(file_, &status);
        if (status != Z_OK) fail("the compressed data ends early, at byte offset ", offset_ + done);
        break;
      }
      done += static_cast<uint64_t>(got);
    }
    offset_ += done;
    return done;
  }

  // Throws "read_idx: <path>: <parts>", with zlib's complaint when it has one.
  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    int zlib_status = Z_OK;
    std::string_view zlib_message = gzerror(file_, &zlib_status);
    // zlib starts its messages with its name for the file, which this message names already.
    if (zlib_message.starts_with(zlib_name_)) zlib_message.remove_prefix(zlib_name_.size());
    const bool gzip = gzdirect(file_) == 0;
    throw Error(
        detail::concat(kOp, ": ", path_, gzip ? " (gzip; offsets count decompressed bytes)" : "",
                       ": ", parts..., zlib_status != Z_OK ? " (zlib: " : "",
                       zlib_status != Z_OK ? zlib_message : "", zlib_status != Z_OK ? ")" : ""));
  }

 private:
  std::string path_;
  std::string zlib_name_;  // how zlib's messages start: "<fd:3>: "
  gzFile file_;
  uint64_t offset_ = 0;
};

// The big-endian number of type T at `in`.
template <typename T>
T load_big_endian(const unsigned char* in) {
  using Bits = std::conditional_t<
      sizeof(T) == 1, uint8_t,
      std::conditional_t<sizeof(T) == 2, uint16_t,
                         std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>>>;
  Bits bits = 0;
  for (size_t i = 0; i < sizeof(T); ++i) bits = static_cast<Bits>(bits << 8 | in[i]);
  return std::bit_cast<T>(bits);
}

template <typename Stored, typename Out>
void decode_as(const unsigned char* in, int64_t count, Out* out) {
  for (int64_t i = 0; i < count; ++i) {
    out[i] =
        static_cast<Out>(load_big_endian<Stored>(in + i * static_cast<int64_t>(sizeof(Stored))));
  }
}

template <typename Out>
void decode(const IdxType& type, const unsigned char* in, int64_t count, Out* out) {
  switch (type.code) {
    case 0x08:
      return decode_as<uint8_t>(in, count, out);
    case 0x09:
      return decode_as<int8_t>(in, count, out);
    case 0x0B:
      return decode_as<int16_t>(in, count, out);
    case 0x0C:
      return decode_as<int32_t>(in, count, out);
    case 0x0D:
      return decode_as<float>(in, count, out);
    default:
      return decode_as<double>(in, count, out);
  }
}

// Reads exactly `n` bytes, growing the buffer as they arrive, so a corrupt header that promises
// terabytes fails at the end of the file instead of allocating them up front.
std::vector<unsigned char> read_data(Reader& reader, uint64_t n, const Shape& sizes,
                                     const IdxType& type) {
  constexpr uint64_t kMinChunk = uint64_t{1} << 20;
  const uint64_t start = reader.offset();
  std::vector<unsigned char> data;
  while (data.size() < n) {
    const uint64_t have = data.size();
    const uint64_t chunk = std::min(n - have, std::max<uint64_t>(have, kMinChunk));
    data.resize(have + chunk);
    if (reader.read(data.data() + have, chunk) < chunk) {
      reader.fail("the file ends at byte offset ", reader.offset(), ", but its header (dims ",
                  shape_str(sizes), " of ", type.name, ") promises ", n,
                  " data bytes, up to byte offset ", start + n);
    }
  }
  return data;
}

// The product of the sizes, or nullopt when it overflows int64 (0 when any size is 0).
std::optional<int64_t> element_count(const Shape& sizes) {
  if (std::find(sizes.begin(), sizes.end(), 0) != sizes.end()) return 0;
  int64_t count = 1;
  for (int64_t size : sizes) {
    if (__builtin_mul_overflow(count, size, &count)) return std::nullopt;
  }
  return count;
}

// The data ends where the header says: a byte more means the dims are wrong or the file holds
// something else. Only one byte is read to find out (the rest could be gigabytes to inflate).
void check_no_trailing_data(Reader& reader) {
  const uint64_t end = reader.offset();
  unsigned char extra;
  if (reader.read(&extra, 1) > 0) {
    reader.fail("the file goes on after byte offset ", end,
                ", where the data its header promises ends");
  }
}

}  // namespace

Tensor read_idx(const std::string& path, std::optional<Dtype> dtype, uint64_t max_bytes) {
  BG_CHECK(!dtype || *dtype != kBool, kOp, "cannot read ", path, " as bool");
  Reader reader(path);

  unsigned char magic[4];
  const uint64_t magic_bytes = reader.read(magic, sizeof(magic));
  if (magic_bytes < sizeof(magic)) {
    reader.fail("the file ends at byte offset ", magic_bytes, ", inside the 4-byte magic number");
  }
  if (magic[0] != 0 || magic[1] != 0) {
    reader.fail("bad magic number ", hex_byte(magic[0]), " ", hex_byte(magic[1]), " ",
                hex_byte(magic[2]), " ", hex_byte(magic[3]),
                " at byte offset 0 (an IDX file starts with two zero bytes)");
  }
  const IdxType* type = find_type(magic[2]);
  if (type == nullptr) {
    reader.fail("unknown type code ", hex_byte(magic[2]),
                " at byte offset 2 (expected 0x08 unsigned byte, 0x09 signed byte, 0x0b short, "
                "0x0c int, 0x0d float or 0x0e double)");
  }
  const Dtype out_dtype =
      dtype.value_or(type->floating ? (type->code == 0x0D ? kFloat32 : kFloat64) : kInt64);
  if (type->floating && out_dtype == kInt64) {
    reader.fail("cannot read ", type->name, " data as int64 (ask for float32 or float64)");
  }

  const int dims = magic[3];
  std::vector<unsigned char> header(static_cast<size_t>(4 * dims));
  if (reader.read(header.data(), header.size()) < header.size()) {
    reader.fail("the file ends at byte offset ", reader.offset(), ", inside the header: ", dims,
                " dims need ", 4 + header.size(), " header bytes");
  }
  Shape sizes;
  for (int d = 0; d < dims; ++d) sizes.push_back(load_big_endian<uint32_t>(&header[4 * d]));
  const std::optional<int64_t> count = element_count(sizes);
  int64_t bytes = 0;
  uint64_t tensor_bytes = 0;
  if (!count || __builtin_mul_overflow(*count, type->bytes, &bytes) ||
      __builtin_mul_overflow(static_cast<uint64_t>(*count), element_size(out_dtype),
                             &tensor_bytes)) {
    reader.fail("dims ", shape_str(sizes), " at byte offset 4 hold more ", type->name,
                " elements than fit in memory");
  }
  // Checked before any data is read: a few kilobytes of gzip can promise gigabytes.
  if (tensor_bytes > max_bytes) {
    reader.fail("dims ", shape_str(sizes), " at byte offset 4 make ", tensor_bytes, " bytes of ",
                dtype_name(out_dtype), ", over the limit of ", max_bytes,
                " bytes (raise read_idx's max_bytes to read it)");
  }

  const std::vector<unsigned char> data =
      read_data(reader, static_cast<uint64_t>(bytes), sizes, *type);
  check_no_trailing_data(reader);
  Tensor out = empty(sizes, out_dtype);
  dispatch_all(out_dtype, [&](auto zero) {
    using Out = decltype(zero);
    if constexpr (!std::is_same_v<Out, bool>) {
      decode(*type, data.data(), *count, out.data_ptr<Out>());
    }
  });
  return out;
}

}  // namespace bg::data
