// Checkpoints in the safetensors format (bg/nn/serialize.h): bitwise round trips, the exact file
// layout, module save/load, every kind of corrupt file, interop with Python, and a deterministic
// mutation fuzz loop over the reader.

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../fuzz/safetensors_fuzz.h"
#include "allocation_meter.h"
#include "bg/core/tensor_impl.h"
#include "bg/nn/modules/linear.h"
#include "bg/nn/optim.h"
#include "bg/nn/serialize.h"
#include "temp_dir.h"
#include "test_util.h"

using namespace bg;
namespace fs = std::filesystem;

namespace {

using Metadata = std::map<std::string, std::string>;
using test::TempDir;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The raw bytes of a tensor's elements in row-major order.
std::string bytes_of(const Tensor& t) {
  const Tensor flat = t.detach().contiguous();
  return {static_cast<const char*>(flat.impl()->data()),
          static_cast<size_t>(flat.numel()) * element_size(flat.dtype())};
}

// Same dtype, sizes and bytes: NaN payloads and the sign of zero included.
void check_identical(const Tensor& actual, const Tensor& expected) {
  INFO("actual: ", actual, "\nexpected: ", expected);
  CHECK(actual.dtype() == expected.dtype());
  CHECK(actual.sizes() == expected.sizes());
  CHECK(bytes_of(actual) == bytes_of(expected));
}

void check_identical(const nn::OrderedDict<Tensor>& actual,
                     const nn::OrderedDict<Tensor>& expected) {
  REQUIRE(actual.keys() == expected.keys());
  for (const auto& item : expected) {
    INFO("tensor ", item.key());
    check_identical(actual[item.key()], item.value());
  }
}

// The 8-byte little-endian length prefix.
std::string length_prefix(uint64_t length) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((length >> (8 * i)) & 0xFF);
  return out;
}

// A file with this header text (unpadded) and data section.
std::string file_bytes(const std::string& header, const std::string& data = "") {
  return length_prefix(header.size()) + header + data;
}

// The header text of a file (its padding included).
std::string header_of(const std::string& bytes) {
  uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = length * 256 + static_cast<unsigned char>(bytes[i]);
  return bytes.substr(8, length);
}

// Loading `bytes` throws a bg::Error naming the file ("t.safetensors") and holding every part.
void check_rejected(const std::string& bytes, std::vector<std::string> parts) {
  parts.insert(parts.begin(), "deserialize_tensors: 't.safetensors': ");
  test::check_error(parts, [&] { deserialize_tensors(bytes, "t.safetensors"); });
}

// Floats whose bits are worth keeping exactly: both zeros, both infinities, NaNs with a sign and
// a payload, the smallest subnormal, the extremes.
template <typename T>
std::vector<T> special_values() {
  using limits = std::numeric_limits<T>;
  T negative_nan = -limits::quiet_NaN();
  T payload_nan;
  if constexpr (sizeof(T) == 4) {
    const uint32_t bits = 0x7fa00001;  // a signalling NaN with a payload
    std::memcpy(&payload_nan, &bits, sizeof bits);
  } else {
    const uint64_t bits = 0x7ff4000000000abcULL;
    std::memcpy(&payload_nan, &bits, sizeof bits);
  }
  return {T(1.5),
          T(-0.0),
          T(0.0),
          limits::infinity(),
          -limits::infinity(),
          limits::quiet_NaN(),
          negative_nan,
          payload_nan,
          limits::denorm_min(),
          limits::max(),
          limits::lowest(),
          T(-3.25)};
}

// One tensor of each dtype, a 0-d one and empty ones, in an order that is not alphabetical.
nn::OrderedDict<Tensor> every_kind_of_tensor() {
  nn::OrderedDict<Tensor> tensors;
  const std::vector<float> f32 = special_values<float>();
  const std::vector<double> f64 = special_values<double>();
  tensors.insert("z.float32", from_data(f32.data(), kFloat32, 12, {3, 4}));
  tensors.insert("a.float64", from_data(f64.data(), kFloat64, 12, {2, 3, 2}));
  const std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min(), -1, 0, 1,
                                    std::numeric_limits<int64_t>::max()};
  tensors.insert("m.int64", from_data(i64.data(), kInt64, 5, {5}));
  tensors.insert("flags", tensor({true, false, false, true, true}));
  tensors.insert("scalar", scalar_tensor(-2.5, kFloat64));
  tensors.insert("int_scalar", scalar_tensor(42, kInt64));
  tensors.insert("empty", zeros({0}));
  tensors.insert("empty3d", zeros({2, 0, 3}, kInt64));
  tensors.insert("empty_bool", zeros({0, 1}, kBool));
  return tensors;
}

}  // namespace

// ---- Round trips --------------------------------------------------------------------------------

TEST_CASE("safetensors: every dtype, 0-d and empty tensors round-trip bitwise through a file") {
  TempDir dir;
  const nn::OrderedDict<Tensor> tensors = every_kind_of_tensor();
  const Metadata metadata = {{"epoch", "3"}, {"format", "pt"}};
  save_tensors(dir / "all.safetensors", tensors, metadata);
  const TensorFile file = load_tensors(dir / "all.safetensors");
  check_identical(file.tensors, tensors);  // names come back in the saved order
  CHECK(file.metadata == metadata);
  // The file and the in-memory form are the same bytes.
  CHECK(read_file(dir / "all.safetensors") == serialize_tensors(tensors, metadata));
  CHECK(dir.files() == std::vector<std::string>{"all.safetensors"});  // no temporary left behind
}

TEST_CASE("safetensors: an empty dict and empty metadata round-trip") {
  const std::string bytes = serialize_tensors({});
  // The reference implementation writes exactly this for no tensors: "{}" padded to 8 bytes.
  CHECK(bytes == file_bytes("{}      "));
  const TensorFile file = deserialize_tensors(bytes);
  CHECK(file.tensors.empty());
  CHECK(file.metadata.empty());
}

TEST_CASE("safetensors: non-contiguous, expanded and autograd tensors are saved as their values") {
  const Tensor base = test::iota({3, 4});
  nn::OrderedDict<Tensor> tensors;
  tensors.insert("transposed", base.t());
  tensors.insert("strided", base.slice(1, 0, 4, 2));
  tensors.insert("expanded", tensor({1.0f, 2.0f}).unsqueeze(0).expand({3, 2}));
  const Tensor x = test::leaf({2, 2});
  tensors.insert("computed", x * 2.0);
  const TensorFile file = deserialize_tensors(serialize_tensors(tensors));
  check_identical(file.tensors["transposed"], base.t().contiguous());
  check_identical(file.tensors["strided"], tensor(std::vector<double>{0, 2, 4, 6, 8, 10}, {3, 2}));
  check_identical(file.tensors["expanded"], tensor(std::vector<float>{1, 2, 1, 2, 1, 2}, {3, 2}));
  check_identical(file.tensors["computed"], (x * 2.0).detach());
  // Loaded tensors are plain leaves with their own storage.
  CHECK_FALSE(file.tensors["computed"].requires_grad());
  CHECK(file.tensors["transposed"].is_contiguous());
}

TEST_CASE("safetensors: names and metadata with special characters round-trip") {
  const Metadata metadata = {
      {"quotes", "say \"hi\" \\ back\\slash /"},
      {"controls", std::string("nl\n cr\r tab\t bs\b ff\f nul\0 bell\x07 del\x7f", 36)},
      {"unicode", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82"},  // é € 🙂
      {"", "empty key"},
      {"empty value", ""},
  };
  nn::OrderedDict<Tensor> tensors;
  tensors.insert("layer.0 \"w\"\n\xc3\xa9", ones({1}));
  tensors.insert("", zeros({2}, kInt64));
  const TensorFile file = deserialize_tensors(serialize_tensors(tensors, metadata));
  CHECK(file.metadata == metadata);
  check_identical(file.tensors, tensors);
}

// ---- The file layout ----------------------------------------------------------------------------

TEST_CASE("safetensors: the file has the format's exact layout") {
  nn::OrderedDict<Tensor> tensors;
  tensors.insert("b", tensor({true, false, true}));
  tensors.insert("f", tensor({1.0f, 2.0f}));
  tensors.insert("d", tensor({0.5}));
  const std::string bytes = serialize_tensors(tensors, {{"k", "v"}});
  // The metadata comes first, then the tensors in the dict's order. The data is laid out by
  // decreasing element size (d, f, b) so that each tensor is aligned for its element type.
  const std::string json = R"({"__metadata__":{"k":"v"},)"
                           R"("b":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]},)"
                           R"("f":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
                           R"("d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})";
  const std::string header = json + std::string((8 - json.size() % 8) % 8, ' ');
  CHECK(header.size() % 8 == 0);  // so the data starts 8-byte aligned
  const double d = 0.5;
  const float f[] = {1.0f, 2.0f};
  const std::string data = std::string(reinterpret_cast<const char*>(&d), 8) +
                           std::string(reinterpret_cast<const char*>(f), 8) +
                           std::string("\x01\x00\x01", 3);
  CHECK(bytes == file_bytes(header, data));
}

TEST_CASE("safetensors: save_tensors replaces the file atomically") {
  TempDir dir;
  const fs::path path = dir / "model.safetensors";
  nn::OrderedDict<Tensor> first;
  first.insert("x", tensor({1.0, 2.0}));
  save_tensors(path, first);
  nn::OrderedDict<Tensor> second;
  second.insert("y", tensor({3.0f}));
  save_tensors(path, second);
  check_identical(load_tensors(path).tensors, second);

  // A save that fails leaves the old file as it was and no temporary file behind.
  nn::OrderedDict<Tensor> broken;
  broken.insert("ok", ones({2}));
  broken.insert("undefined", Tensor());
  test::check_error({"save_tensors", "the tensor 'undefined' is undefined"},
                    [&] { save_tensors(path, broken); });
  check_identical(load_tensors(path).tensors, second);
  CHECK(dir.files() == std::vector<std::string>{"model.safetensors"});

  test::check_error({"save_tensors", (dir / "missing" / "m.safetensors").string(),
                     "cannot create the temporary file", "No such file or directory"},
                    [&] { save_tensors(dir / "missing" / "m.safetensors", second); });
}

TEST_CASE("safetensors: saving refuses what the format cannot hold") {
  nn::OrderedDict<Tensor> reserved;
  reserved.insert("__metadata__", ones({1}));
  test::check_error({"save_tensors", "'__metadata__'", "reserves"},
                    [&] { save_tensors("unused.safetensors", reserved); });
  nn::OrderedDict<Tensor> bad_name;
  bad_name.insert("bad\xff", ones({1}));
  test::check_error({"serialize_tensors", "tensor name", "not valid UTF-8 (byte 3)"},
                    [&] { serialize_tensors(bad_name); });
  test::check_error({"serialize_tensors", "metadata value of 'k'", "not valid UTF-8 (byte 1)"},
                    [&] {
                      serialize_tensors({}, {{"k", "a\xc3"}});
                    });
  // An overlong encoding of '/' and an encoded surrogate are not UTF-8 either.
  test::check_error({"metadata key", "not valid UTF-8 (byte 0)"}, [&] {
    serialize_tensors({}, {{"\xc0\xaf", "v"}});
  });
  test::check_error({"metadata key", "not valid UTF-8 (byte 0)"}, [&] {
    serialize_tensors({}, {{"\xed\xa0\x80", "v"}});
  });
}

// ---- Corrupt files ------------------------------------------------------------------------------

TEST_CASE("safetensors: missing files and directories are reported with their path") {
  TempDir dir;
  test::check_error({"load_tensors", "nope.safetensors", "cannot open the file"},
                    [&] { load_tensors(dir / "nope.safetensors"); });
  test::check_error({"load_tensors", dir.path().string(), "not a regular file"},
                    [&] { load_tensors(dir.path()); });
}

TEST_CASE("safetensors: a wrong header length is rejected") {
  check_rejected("", {"too short (0 bytes) to hold the 8-byte header length"});
  check_rejected(std::string("\x02\x00\x00", 3), {"too short (3 bytes)"});
  check_rejected(length_prefix(1000) + "{}", {"header length 1000", "larger than the 2 bytes"});
  check_rejected(length_prefix(~uint64_t{0}) + "{}",
                 {"header length 18446744073709551615", "limit of 100000000 bytes"});
  // Too short a length cuts the JSON; too long a length swallows data bytes into it.
  check_rejected(length_prefix(1) + "{}", {"invalid JSON at byte 9", "end of input"});
  nn::OrderedDict<Tensor> tensors;
  tensors.insert("x", tensor({1.0f}));
  std::string bytes = serialize_tensors(tensors);
  const uint64_t length = header_of(bytes).size();
  bytes.replace(0, 8, length_prefix(length + 2));
  check_rejected(bytes, {"invalid JSON at byte " + std::to_string(8 + length)});
}

TEST_CASE("safetensors: malformed JSON is rejected with its byte offset") {
  struct Case {
    std::string header;
    std::string message;  // byte offsets count from the start of the file (the header is at 8)
  };
  const std::vector<Case> cases = {
      {"", "byte 8: unexpected end of input, expected a value"},
      {"{", "byte 9: unexpected end of input, expected a key"},
      {R"({"a":})", "byte 13: expected an object, array, string or integer, found '}'"},
      {R"({"a" 1})", "byte 13: expected ':' after an object key, found '1'"},
      {R"({"a":1 "b":2})", "byte 15: expected '}' or ',' in an object, found '\"'"},
      {R"({"a":[1,]})", "byte 16: expected an object, array, string or integer, found ']'"},
      {R"({"a":[1 2]})", "byte 16: expected ']' or ',' in an array"},
      {R"({a:1})", "byte 9: expected a string key, found 'a'"},
      {R"({"a":1}x)", "byte 15: unexpected 'x' after the value"},
      {R"({"a":1}{})", "byte 15: unexpected '{' after the value"},
      {R"({"a":"x)", "byte 15: unexpected end of input in a string"},
      {R"({"a":"\q"})", "byte 14: invalid escape '\\q'"},
      {R"({"a":"\u12"})", "byte 18: expected a hex digit in a \\u escape, found '\"'"},
      {R"({"a":"\udc00"})", "byte 14: lone low surrogate"},
      {R"({"a":"\ud800x"})", "byte 14: high surrogate not followed by a low surrogate"},
      {R"({"a":"\ud800\u0041"})", "byte 14: high surrogate not followed by a low surrogate"},
      {"{\"a\":\"\x01\"}", "byte 14: unescaped control character byte 0x01 in a string"},
      {"{\"a\":\"\xff\"}", "byte 14: invalid UTF-8 byte 0xff in a string"},
      {"{\"a\":\"\xc3\"}", "byte 14: invalid UTF-8 byte 0xc3 in a string"},
      {R"({"a":1.5})", "byte 13: only integers are allowed here"},
      {R"({"a":1e3})", "byte 13: only integers are allowed here"},
      {R"({"a":01})", "byte 13: integers may not have leading zeros"},
      {R"({"a":-})", "byte 13: expected a digit after '-'"},
      {R"({"a":9223372036854775808})", "byte 13: integer out of the 64-bit range"},
      {R"({"a":true})", "byte 13: expected an object, array, string or integer, found 't'"},
      {R"({"a":null})", "byte 13: expected an object, array, string or integer, found 'n'"},
      {R"({"a":1,"a":2})", "byte 15: duplicate key \"a\""},
      {std::string(40, '[') + std::string(40, ']'), "byte 40: nesting deeper than 32 levels"},
  };
  for (const Case& c : cases) {
    INFO("header: ", c.header);
    check_rejected(file_bytes(c.header), {"invalid JSON at " + c.message});
  }
  // The extremes of int64 parse (and are then refused as sizes, which must be non-negative).
  check_rejected(file_bytes(R"({"x":{"dtype":"F32","shape":[-9223372036854775808],)"
                            R"("data_offsets":[0,0]}})"),
                 {"'shape' at byte 37 must hold non-negative integers, found "
                  "-9223372036854775808"});
}

TEST_CASE("safetensors: header entries with missing, unknown or ill-typed fields are rejected") {
  struct Case {
    std::string header;
    std::vector<std::string> parts;
  };
  const std::string ok_fields = R"("dtype":"F32","shape":[1],"data_offsets":[0,4])";
  const std::vector<Case> cases = {
      {"[]", {"the header must be a JSON object, found an array at byte 8"}},
      {R"({"x":[1]})", {"entry 'x' (byte 9) must be an object", "found an array"}},
      {R"({"x":{"shape":[1],"data_offsets":[0,4]}})", {"entry 'x' (byte 9) has no 'dtype'"}},
      {R"({"x":{"dtype":"F32","data_offsets":[0,4]}})", {"entry 'x' (byte 9) has no 'shape'"}},
      {R"({"x":{"dtype":"F32","shape":[1]}})", {"entry 'x' (byte 9) has no 'data_offsets'"}},
      {R"({"x":{)" + ok_fields + R"(,"offsets":[0,4]}})",
       {"entry 'x' (byte 9) has an unknown field 'offsets' at byte 61"}},
      {R"({"x":{"dtype":32,"shape":[1],"data_offsets":[0,4]}})",
       {"entry 'x' (byte 9): 'dtype' at byte 22 must be a string, found an integer"}},
      {R"({"x":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
       {"entry 'x' (byte 9) has dtype \"I32\" (byte 22)",
        "reads F32, F64, I64, BOOL, F16 and BF16"}},
      {R"({"x":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", {"dtype \"f32\""}},
      {R"({"x":{"dtype":"F32","shape":4,"data_offsets":[0,16]}})",
       {"'shape' at byte 36 must be an array of sizes, found an integer"}},
      {R"({"x":{"dtype":"F32","shape":[2,"3"],"data_offsets":[0,24]}})",
       {"'shape' at byte 39 must hold non-negative integers, found a string"}},
      {R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
       {"must hold non-negative integers, found -1"}},
      {R"({"x":{"dtype":"F32","shape":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1],)"
       R"("data_offsets":[0,4]}})",
       {"entry 'x' (byte 9) has 17 dims; bayesgrad tensors have at most 16"}},
      {R"({"x":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})",
       {"the shape at byte 36 is too large to be a tensor"}},
      // An empty dim does not hide the others: strides are computed from them.
      {R"({"x":{"dtype":"F64","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})",
       {"too large to be a tensor"}},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":{}}})",
       {"'data_offsets' at byte 55 must be an array [begin, end], found an object"}},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})",
       {"'data_offsets' at byte 55 must hold 2 integers [begin, end], found 3"}},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})",
       {"'data_offsets' at byte 56 must hold non-negative integers, found -4"}},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})",
       {"data_offsets [4, 0] end before they begin"}},
      {R"({"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})",
       {"entry 'x' (byte 9): data_offsets [0, 20] span 20 bytes, but F32 [2, 3] needs 24"}},
      {R"({"x":{"dtype":"BOOL","shape":[],"data_offsets":[0,0]}})",
       {"data_offsets [0, 0] span 0 bytes, but BOOL [] needs 1"}},
      {R"({"__metadata__":[],"x":{)" + ok_fields + "}}",
       {"'__metadata__' at byte 24 must be an object of strings, found an array"}},
      {R"({"__metadata__":{"epoch":3}})", {"the metadata 'epoch' at byte 33 must be a string"}},
  };
  for (const Case& c : cases) {
    INFO("header: ", c.header);
    check_rejected(file_bytes(c.header, std::string(4, '\0')), c.parts);
  }
}

TEST_CASE("safetensors: data offsets out of range, overlapping, with gaps or trailing bytes") {
  const auto entry = [](const std::string& name, int begin, int end) {
    return "\"" + name + R"(":{"dtype":"F32","shape":[2],"data_offsets":[)" +
           std::to_string(begin) + "," + std::to_string(end) + "]}";
  };
  const std::string data(16, '\0');
  const auto header = [&](const std::string& a, const std::string& b) {
    return "{" + a + "," + b + "}";
  };
  check_rejected(
      file_bytes(header(entry("a", 0, 8), entry("b", 12, 20)), data),
      {"entry 'b' (byte 62): data_offsets [12, 20] go past the end of the data", "holds 16 bytes"});
  check_rejected(
      file_bytes(header(entry("a", 0, 8), entry("b", 4, 12)), data),
      {"the data of entry 'a' (byte 9) [0, 8) and of entry 'b' (byte 62) [4, 12) overlap"});
  check_rejected(file_bytes(header(entry("a", 0, 8), entry("b", 0, 8)), data),
                 {"[0, 8) and of entry 'b'", "overlap"});
  check_rejected(file_bytes(header(entry("a", 8, 16), entry("b", 0, 8)), data + "xy"),
                 {"2 trailing bytes follow the last tensor's data"});
  check_rejected(file_bytes(header(entry("a", 0, 8), entry("b", 12, 20)), data + "1234"),
                 {"bytes [8, 12) of the data section, before entry 'b'", "belong to no tensor"});
  check_rejected(file_bytes(header(entry("a", 4, 12), entry("b", 12, 20)), data + "1234"),
                 {"bytes [0, 4) of the data section, before entry 'a'"});
  // In the file's order, not the header's, the ranges tile the data: that is valid.
  const TensorFile file =
      deserialize_tensors(file_bytes(header(entry("a", 8, 16), entry("b", 0, 8)), data));
  CHECK(file.tensors.keys() == std::vector<std::string>{"a", "b"});
  // Empty tensors take no bytes, anywhere.
  const std::string empty = R"("e":{"dtype":"I64","shape":[0,2],"data_offsets":[8,8]})";
  CHECK(deserialize_tensors(
            file_bytes("{" + entry("a", 0, 8) + "," + empty + "," + entry("b", 8, 16) + "}", data))
            .tensors.size() == 3);
}

TEST_CASE("safetensors: the header costs a small multiple of its size, whatever it holds") {
  // A 10 MB header of what the format does not allow: an array inside the metadata. Parsed as a
  // JSON tree it took some 60 times its size (a 99 MB one ran out of memory); it is refused when
  // scanned, holding nothing but the header's own bytes.
  std::string zeros;
  for (int i = 0; i < 5'000'000; ++i) zeros += "0,";
  zeros += "0";
  const std::string bomb = file_bytes(R"({"__metadata__":{"k":[)" + zeros + "]}}");
  {
    test::AllocationMeter meter;
    check_rejected(bomb, {"the metadata 'k' at byte 29 must be a string, found an array"});
    CHECK(meter.peak() < 2 * bomb.size());
  }
  // What the format allows costs in proportion: 100,000 metadata entries and 100,000 tensors (the
  // tensors of the file and their names and offsets).
  std::string metadata = R"({"__metadata__":{)";
  std::string entries;
  for (int i = 0; i < 100'000; ++i) {
    metadata += (i ? ",\"" : "\"") + std::to_string(i) + R"(":"v")";
    entries += ",\"t" + std::to_string(i) + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})";
  }
  const std::string many = file_bytes(metadata + "}" + entries + "}");
  test::AllocationMeter meter;
  const TensorFile file = deserialize_tensors(many);
  CHECK(file.metadata.size() == 100'000);
  CHECK(file.tensors.size() == 100'000);
  CHECK(meter.peak() < 12 * many.size());
}

TEST_CASE("safetensors: BOOL elements other than 0 and 1 are rejected") {
  const std::string header = R"({"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})";
  check_rejected(file_bytes(header, std::string("\x01\x00\x02", 3)),
                 {"entry 'm' (byte 9): BOOL element 2 (byte 65) is 2; booleans must be 0 or 1"});
  CHECK(test::ints(
            deserialize_tensors(file_bytes(header, std::string("\x01\x00\x01", 3))).tensors["m"]) ==
        std::vector<int64_t>{1, 0, 1});
}

TEST_CASE("safetensors: every truncation of a valid file is rejected") {
  const std::string bytes = serialize_tensors(every_kind_of_tensor(), {{"k", "v"}});
  const size_t header_end = 8 + header_of(bytes).size();
  for (size_t size = 0; size < bytes.size(); ++size) {
    INFO("truncated to ", size, " of ", bytes.size(), " bytes");
    std::string expected = size < 8            ? "too short"
                           : size < header_end ? "is larger than the"
                                               : "go past the end of the data section";
    check_rejected(bytes.substr(0, size), {expected});
  }
  check_rejected(bytes + '\0', {"1 trailing bytes"});
}

// ---- Modules ------------------------------------------------------------------------------------

namespace {

// A parameter, persistent buffers of two dtypes, a non-persistent buffer and a child layer.
struct TinyNetImpl : nn::Module {
  explicit TinyNetImpl(uint64_t seed) : Module("TinyNet") {
    Generator generator(seed);
    scale = register_parameter("scale", randn({3}, kFloat32, &generator));
    steps = register_buffer("steps", scalar_tensor(static_cast<int64_t>(seed), kInt64));
    mask = register_buffer("mask", tensor({seed % 2 == 0, true}));
    cache = register_buffer("cache", full({2}, static_cast<double>(seed)), /*persistent=*/false);
    fc = register_module("fc", nn::Linear(3, 2));
  }
  Tensor scale, steps, mask, cache;
  nn::Linear fc = nullptr;
};
BG_MODULE(TinyNet);

// Bitwise copies of a module's state (its non-persistent buffers too), to check it is unchanged.
nn::OrderedDict<Tensor> snapshot(const nn::Module& module) {
  nn::OrderedDict<Tensor> out;
  for (const auto& item : module.named_parameters()) out.insert(item.key(), item.value().clone());
  for (const auto& item : module.named_buffers()) out.insert(item.key(), item.value().clone());
  return out;
}

void check_unchanged(const nn::Module& module, const nn::OrderedDict<Tensor>& before) {
  check_identical(snapshot(module), before);
}

}  // namespace

TEST_CASE("save/load: a module round-trips its parameters and persistent buffers") {
  TempDir dir;
  TinyNet source(1);
  TinyNet target(2);
  bg::save(source, dir / "net.safetensors", {{"epoch", "7"}});
  // The non-persistent buffer is not in the file.
  const nn::OrderedDict<Tensor> saved = bg::load(dir / "net.safetensors");
  CHECK(saved.keys() == std::vector<std::string>{"scale", "steps", "mask", "fc.weight", "fc.bias"});
  check_identical(saved, source->state_dict());

  const Tensor scale_handle = target->scale;
  const Metadata metadata = bg::load(target, dir / "net.safetensors");
  CHECK(metadata == Metadata{{"epoch", "7"}});
  check_identical(target->state_dict(), source->state_dict());
  // The values were copied into the module's own tensors, which stay trainable leaves.
  CHECK(target->scale.is_same(scale_handle));
  CHECK(target->scale.requires_grad());
  CHECK(test::values(target->cache) == std::vector<double>{2.0, 2.0});
}

TEST_CASE("save/load: strict loading refuses missing, unexpected and mis-shaped keys") {
  TempDir dir;
  TinyNet net(3);
  const nn::OrderedDict<Tensor> before = snapshot(*net);
  nn::OrderedDict<Tensor> state = TinyNet(4)->state_dict();

  nn::OrderedDict<Tensor> missing = state;
  missing.erase("fc.bias");
  save_tensors(dir / "missing.safetensors", missing);
  test::check_error({"load: '" + (dir / "missing.safetensors").string() + "'", "load_state_dict",
                     "missing keys [fc.bias]", "nothing was loaded"},
                    [&] { bg::load(net, dir / "missing.safetensors"); });
  check_unchanged(*net, before);

  nn::OrderedDict<Tensor> extra = state;
  extra.insert("extra", ones({1}));
  save_tensors(dir / "extra.safetensors", extra);
  test::check_error({"unexpected keys [extra]"}, [&] { bg::load(net, dir / "extra.safetensors"); });
  check_unchanged(*net, before);

  nn::OrderedDict<Tensor> reshaped = state;
  reshaped["fc.weight"] = zeros({3, 2});
  save_tensors(dir / "reshaped.safetensors", reshaped);
  test::check_error({"mismatched shapes [fc.weight (expected [2, 3], got [3, 2])]"},
                    [&] { bg::load(net, dir / "reshaped.safetensors"); });
  check_unchanged(*net, before);
}

TEST_CASE("save/load: non-strict loading takes the keys that fit and skips the rest") {
  TempDir dir;
  TinyNet net(5);
  const TinyNet other(6);
  nn::OrderedDict<Tensor> state = other->state_dict();
  state.erase("scale");
  state["fc.weight"] = zeros({3, 2});
  state.insert("extra", ones({1}));
  save_tensors(dir / "partial.safetensors", state, {{"note", "partial"}});
  const Tensor scale_before = net->scale.clone();
  const Tensor weight_before = net->fc->weight.clone();

  CHECK(bg::load(net, dir / "partial.safetensors", /*strict=*/false) ==
        Metadata{{"note", "partial"}});
  check_identical(net->scale, scale_before);        // missing from the file
  check_identical(net->fc->weight, weight_before);  // of another shape in the file
  check_identical(net->fc->bias, other->fc->bias);
  check_identical(net->steps, other->steps);
  check_identical(net->mask, other->mask);
}

TEST_CASE("save/load: values convert to the module's dtypes, as load_state_dict does") {
  TempDir dir;
  TinyNet net(7);
  nn::OrderedDict<Tensor> state = net->state_dict();
  state["scale"] = tensor({0.25, -1.0, 8.0});  // float64 into a float32 parameter
  save_tensors(dir / "f64.safetensors", state);
  bg::load(net, dir / "f64.safetensors");
  CHECK(net->scale.dtype() == kFloat32);
  CHECK(test::values(net->scale) == std::vector<double>{0.25, -1.0, 8.0});
}

TEST_CASE("save/load: a corrupt file leaves the module unchanged") {
  TempDir dir;
  const fs::path path = dir / "net.safetensors";
  bg::save(TinyNet(8), path);
  const std::string good = read_file(path);
  TinyNet net(9);
  const nn::OrderedDict<Tensor> before = snapshot(*net);
  const auto check_refused = [&](const std::string& bytes) {
    write_file(path, bytes);
    CHECK_THROWS_AS(bg::load(net, path), Error);
    check_unchanged(*net, before);
  };
  check_refused(good.substr(0, good.size() - 1));
  check_refused(good + "!");
  std::string bad_bool = good;
  bad_bool.back() = 7;  // the last data byte is an element of the BOOL buffer "mask"
  check_refused(bad_bool);
  std::string bad_length = good;
  bad_length[0] = static_cast<char>(bad_length[0] + 8);
  check_refused(bad_length);

  // Every header byte with its low bit flipped: a broken structure, a renamed key or a changed
  // dtype, size or offset, each of which reading or strict loading refuses. These go through
  // memory (what load() does after reading the file) to keep the test fast.
  const size_t header_end = 8 + header_of(good).size();
  for (size_t i = 0; i < header_end; ++i) {
    INFO("flipped byte ", i);
    std::string bytes = good;
    bytes[i] = static_cast<char>(bytes[i] ^ 1);
    CHECK_THROWS_AS(net->load_state_dict(deserialize_tensors(bytes).tensors), Error);
  }
  check_unchanged(*net, before);
}

// ---- Optimizer checkpoints ----------------------------------------------------------------------

namespace {

// Three Adam steps of a Linear(3, 2) on a fixed regression problem.
void adam_steps(nn::Linear& net, optim::Adam& optimizer, int steps) {
  const Tensor x = arange(12, kFloat32).reshape({4, 3}) / 10;
  const Tensor y = arange(8, kFloat32).reshape({4, 2}) / 10;
  for (int i = 0; i < steps; ++i) {
    optimizer.zero_grad();
    (net(x) - y).pow(2).mean().backward();
    optimizer.step();
  }
}

}  // namespace

TEST_CASE("save/load: model and optimizer checkpoints resume training bitwise") {
  TempDir dir;
  manual_seed(5);
  nn::Linear reference(3, 2);
  nn::Linear resumed(3, 2);
  resumed->load_state_dict(reference->state_dict());
  optim::Adam reference_optimizer(reference->parameters(),
                                  optim::AdamOptions(0.05).weight_decay(0.01));
  adam_steps(reference, reference_optimizer, 3);
  bg::save(reference, dir / "net.safetensors");
  bg::save(reference_optimizer, dir / "adam.safetensors", {{"epoch", "3"}});
  adam_steps(reference, reference_optimizer, 2);

  // A fresh optimizer with other hyperparameters: loading restores the saved ones.
  optim::Adam resumed_optimizer(resumed->parameters(), optim::AdamOptions(1.0));
  bg::load(resumed, dir / "net.safetensors");
  CHECK(bg::load(resumed_optimizer, dir / "adam.safetensors") == Metadata{{"epoch", "3"}});
  CHECK(resumed_optimizer.param_groups()[0].options().get_lr() == 0.05);
  adam_steps(resumed, resumed_optimizer, 2);
  check_identical(resumed->state_dict(), reference->state_dict());
}

TEST_CASE("save/load: an optimizer checkpoint of another kind or a model file is refused") {
  TempDir dir;
  nn::Linear net(3, 2);
  optim::Adam adam(net->parameters(), optim::AdamOptions(0.1));
  adam_steps(net, adam, 1);
  bg::save(adam, dir / "adam.safetensors");
  bg::save(net, dir / "net.safetensors");
  const Tensor weight_before = net->weight.clone();

  optim::SGD sgd(net->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  test::check_error({"load", "adam.safetensors", "holds the state of Adam, not of SGD"},
                    [&] { bg::load(sgd, dir / "adam.safetensors"); });
  test::check_error({"load", "net.safetensors", "is not an optimizer checkpoint"},
                    [&] { bg::load(sgd, dir / "net.safetensors"); });
  // Parameters of other shapes: load_state_dict's check, with the file named.
  nn::Linear other(4, 2);
  optim::Adam other_adam(other->parameters(), optim::AdamOptions(0.1));
  CHECK_THROWS_WITH_AS(bg::load(other_adam, dir / "adam.safetensors"),
                       doctest::Contains("adam.safetensors"), Error);
  CHECK(other_adam.state(other->weight) == nullptr);
  check_identical(net->weight, weight_before);
}

TEST_CASE("save/load: an optimizer checkpoint's step counts are checked at load") {
  TempDir dir;
  nn::Linear net(3, 2);
  optim::Adam adam(net->parameters(), optim::AdamOptions(0.1));
  adam_steps(net, adam, 2);
  const fs::path path = dir / "adam.safetensors";
  bg::save(adam, path);
  const TensorFile saved = load_tensors(path);
  // A state kept after at least one step counts at least 1; one more step must not overflow.
  for (const int64_t step : {int64_t{-1}, int64_t{0}, std::numeric_limits<int64_t>::max()}) {
    INFO("step ", step);
    nn::OrderedDict<Tensor> tampered = saved.tensors;
    tampered["state.1.step"] = scalar_tensor(step, kInt64);
    save_tensors(path, tampered, saved.metadata);
    optim::Adam fresh(net->parameters(), optim::AdamOptions(0.1));
    test::check_error(
        {"load", "adam.safetensors", "state.1.step", std::to_string(step), "between 1 and"},
        [&] { bg::load(fresh, path); });
    CHECK(fresh.state(net->bias) == nullptr);  // nothing was loaded
  }
}

// ---- 16-bit floats ------------------------------------------------------------------------------

TEST_CASE("safetensors: F16 and BF16 written by torch 1.13 are read into float32 exactly") {
  // The file's bytes, made with torch 1.13 in the format's layout (the reference writer's):
  //   vals = [1.0, -2.5, 65504.0, 1e-7, 6e-8, float('inf'), 0.1, -0.0, 1.0009765625]
  //   h = torch.tensor(vals).half(); b = torch.tensor(vals).bfloat16().reshape(3, 3)
  //   raw = lambda t: t.contiguous().view(torch.int16).numpy().tobytes()
  //   header = {"__metadata__": {"by": "torch 1.13"},
  //             "h": {"dtype": "F16", "shape": [9], "data_offsets": [0, 18]},
  //             "b": {"dtype": "BF16", "shape": [3, 3], "data_offsets": [18, 36]}}
  //   text = json.dumps(header, separators=(',', ':')).encode(); text += b' ' * (-len(text) % 8)
  //   struct.pack('<Q', len(text)) + text + raw(h) + raw(b)
  const std::string header =
      R"({"__metadata__":{"by":"torch 1.13"},"h":{"dtype":"F16","shape":[9],"data_offsets":[0,18]},)"
      R"("b":{"dtype":"BF16","shape":[3,3],"data_offsets":[18,36]}}    )";
  const std::string data(
      "\x00\x3c\x00\xc1\xff\x7b\x02\x00\x01\x00\x00\x7c\x66\x2e\x00\x80\x01\x3c\x80\x3f\x20\xc0"
      "\x80\x47\xd7\x33\x81\x33\x80\x7f\xcd\x3d\x00\x80\x80\x3f",
      36);
  const TensorFile file = deserialize_tensors(length_prefix(header.size()) + header + data);
  CHECK(file.metadata.at("by") == "torch 1.13");
  CHECK(file.stored_as == std::map<std::string, std::string>{{"b", "BF16"}, {"h", "F16"}});
  const Tensor h = file.tensors["h"], b = file.tensors["b"];
  CHECK(h.dtype() == kFloat32);
  CHECK(b.sizes() == Shape{3, 3});
  // [float(v) for v in h.float()] and the same for b: subnormals, infinities and -0 included.
  test::check_close(h,
                    {1.0, -2.5, 65504.0, 1.1920928955078125e-07, 5.960464477539063e-08, test::kInf,
                     0.0999755859375, -0.0, 1.0009765625},
                    0.0);
  test::check_close(b,
                    {1.0, -2.5, 65536.0, 1.0011717677116394e-07, 6.007030606269836e-08, test::kInf,
                     0.10009765625, -0.0, 1.0},
                    0.0);
  CHECK(std::signbit(test::values(h)[7]));
}

TEST_CASE("safetensors: floats are written as F16 or BF16 on request, rounded as torch rounds") {
  // y = torch.tensor([65520., 1e5, -1e5, 3.4e38, 5.96e-8, 2.98e-8, 1.0009765625, 1.00048828125,
  //                   1.00146484375])
  // [v & 0xffff for v in y.half().view(torch.int16).tolist()] and the same with .bfloat16()
  const Tensor y = tensor({65520.0f, 1e5f, -1e5f, 3.4e38f, 5.96e-8f, 2.98e-8f, 1.0009765625f,
                           1.00048828125f, 1.00146484375f});
  const std::vector<uint16_t> half{31744, 31744, 64512, 31744, 1, 0, 15361, 15360, 15362};
  const std::vector<uint16_t> bfloat{18304, 18371, 51139, 32640, 13184, 13056, 16256, 16256, 16256};
  // torch.tensor([0.1, 1e-10, 70000.0], dtype=torch.float64): .half() and .bfloat16()
  const Tensor d = tensor({0.1, 1e-10, 70000.0});
  const std::vector<uint16_t> half_d{11878, 0, 31744}, bfloat_d{15821, 11996, 18313};
  nn::OrderedDict<Tensor> tensors;
  tensors.insert("y", y);
  tensors.insert("d", d);
  tensors.insert("i", tensor({7, 8}));  // integers are kept
  // The `count` 16-bit elements of the entry `name` in the file `bytes`.
  const auto bits = [](const std::string& bytes, const std::string& name, size_t count) {
    const std::string header = header_of(bytes);
    std::vector<uint16_t> out(count);
    const size_t begin = header.find("\"" + name + "\":");
    const size_t offsets = header.find("\"data_offsets\":[", begin) + 16;
    const size_t start = std::stoul(header.substr(offsets));
    std::memcpy(out.data(), bytes.data() + 8 + header.size() + start, count * sizeof(uint16_t));
    return out;
  };
  for (const FloatFormat format : {FloatFormat::F16, FloatFormat::BF16}) {
    const bool is_half = format == FloatFormat::F16;
    INFO((is_half ? "F16" : "BF16"));
    const std::string bytes = serialize_tensors(tensors, {}, SaveOptions().float_format(format));
    CHECK(header_of(bytes).find(is_half ? R"("dtype":"F16")" : R"("dtype":"BF16")") !=
          std::string::npos);
    const TensorFile file = deserialize_tensors(bytes);
    CHECK(bits(bytes, "y", 9) == (is_half ? half : bfloat));
    CHECK(bits(bytes, "d", 3) == (is_half ? half_d : bfloat_d));
    CHECK(file.tensors["i"].dtype() == kInt64);
    CHECK(file.tensors["y"].dtype() == kFloat32);
    CHECK(file.stored_as.size() == 2);
  }
  // NaN stays NaN.
  nn::OrderedDict<Tensor> nan;
  nan.insert("n", tensor({test::kNaN}));
  for (const FloatFormat format : {FloatFormat::F16, FloatFormat::BF16}) {
    test::check_close(
        deserialize_tensors(serialize_tensors(nan, {}, SaveOptions().float_format(format)))
            .tensors["n"],
        {test::kNaN}, 0.0);
  }
}

TEST_CASE("save/load: a module saved as BF16 loads back rounded; errors name the stored dtype") {
  TempDir dir;
  nn::Linear net(3, 2);
  bg::save(net, dir / "net.safetensors", {}, SaveOptions().float_format(FloatFormat::BF16));
  nn::Linear same(3, 2);
  bg::load(same, dir / "net.safetensors");
  // The values of the file, which are the weights rounded to 8 significant bits.
  check_identical(same->weight, load_tensors(dir / "net.safetensors").tensors["weight"]);
  CHECK(allclose(same->weight, net->weight, 1.0 / 256, 0.0));
  CHECK_FALSE(equal(same->weight, net->weight));
  nn::Linear other(4, 2);
  test::check_error({"load", "net.safetensors", "mismatched", "the file stores", "weight as BF16",
                     "read as float32"},
                    [&] { bg::load(other, dir / "net.safetensors"); });
}

// ---- Python -------------------------------------------------------------------------------------

namespace {

// Checks with Python that a file bayesgrad wrote reads right (with the safetensors package when
// installed, else with an independent reader of the format on torch), then writes a file the same
// way for bayesgrad to read. Exit status 77: torch is missing.
constexpr const char* kPythonInterop = R"PY(
import json, math, struct, sys
try:
    import torch
except ImportError:
    sys.exit(77)
try:
    from safetensors.torch import load_file, save_file
    from safetensors import safe_open
    reader = "safetensors"
except ImportError:
    reader = "independent"

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "BOOL": torch.bool}
CODES = {v: k for k, v in DTYPES.items()}

def read(path):
    """A reader written from the format's description, as strict as the reference one."""
    raw = open(path, "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0, "the data section is not 8-byte aligned"
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    data = raw[8 + n:]
    covered, tensors = 0, {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        assert set(info) == {"dtype", "shape", "data_offsets"}, info
        begin, end = info["data_offsets"]
        dtype = DTYPES[info["dtype"]]
        size = torch.empty((), dtype=dtype).element_size()
        assert begin == covered and begin % size == 0, (name, begin, covered)
        assert end - begin == math.prod(info["shape"]) * size, (name, info)
        covered = end
        chunk = bytearray(data[begin:end])
        flat = torch.frombuffer(chunk, dtype=dtype) if chunk else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"])
    assert covered == len(data), "trailing bytes"
    return tensors, metadata

def write(path, tensors, metadata):
    """Lays a file out as the reference writer does: by decreasing alignment, then by name."""
    order = sorted(tensors, key=lambda k: (-tensors[k].element_size(), k))
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in order:
        blob = tensors[name].contiguous().numpy().tobytes()
        header[name] = {"dtype": CODES[tensors[name].dtype], "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()  # non-ASCII as \u escapes
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

def specials():
    return [1.5, -0.0, 0.0, math.inf, -math.inf, math.nan, -3.25]

NOTE = "quote \" backslash \\ newline \n caf\u00e9 \U0001F642"
EXPECTED = {
    "f32": torch.tensor(specials(), dtype=torch.float32),
    "f64": torch.tensor(specials(), dtype=torch.float64).reshape(7, 1),
    "i64": torch.tensor([-2**63, -1, 0, 2**63 - 1], dtype=torch.int64).reshape(2, 2),
    "flags": torch.tensor([True, False, True]),
    "scalar": torch.tensor(2.5, dtype=torch.float64),
    "empty": torch.zeros(0, 3),
}

if reader == "safetensors":
    got = load_file(sys.argv[1])
    with safe_open(sys.argv[1], framework="pt") as f:
        got_metadata = f.metadata()
else:
    got, got_metadata = read(sys.argv[1])
assert got_metadata == {"note": NOTE}, got_metadata
assert sorted(got) == sorted(EXPECTED), sorted(got)
for name, want in EXPECTED.items():
    t = got[name]
    assert t.dtype == want.dtype and t.shape == want.shape, (name, t.dtype, t.shape)
    assert t.numpy().tobytes() == want.numpy().tobytes(), (name, t, want)

if reader == "safetensors":
    save_file(EXPECTED, sys.argv[2], metadata={"note": NOTE})
else:
    write(sys.argv[2], EXPECTED, {"note": NOTE})
print("reader:", reader, "torch", torch.__version__)
)PY";

// The tensors the Python snippet expects and writes, built on this side.
nn::OrderedDict<Tensor> python_tensors() {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> specials = {1.5, -0.0, 0.0, inf, -inf, test::kNaN, -3.25};
  nn::OrderedDict<Tensor> tensors;
  tensors.insert("f32", from_data(specials.data(), kFloat64, 7, {7}, kFloat32));
  tensors.insert("f64", from_data(specials.data(), kFloat64, 7, {7, 1}));
  const std::vector<int64_t> ints = {std::numeric_limits<int64_t>::min(), -1, 0,
                                     std::numeric_limits<int64_t>::max()};
  tensors.insert("i64", from_data(ints.data(), kInt64, 4, {2, 2}));
  tensors.insert("flags", tensor({true, false, true}));
  tensors.insert("scalar", scalar_tensor(2.5, kFloat64));
  tensors.insert("empty", zeros({0, 3}));
  return tensors;
}

}  // namespace

TEST_CASE("safetensors: files are read and written by Python (safetensors or torch)") {
  if (!fs::exists("/usr/bin/python3")) {
    MESSAGE("skipped: /usr/bin/python3 is not installed");
    return;
  }
  TempDir dir;
  write_file(dir / "interop.py", kPythonInterop);
  const Metadata metadata = {
      {"note", "quote \" backslash \\ newline \n caf\xc3\xa9 \xf0\x9f\x99\x82"}};
  save_tensors(dir / "from_bg.safetensors", python_tensors(), metadata);
  const std::string command = "/usr/bin/python3 " + (dir / "interop.py").string() + " " +
                              (dir / "from_bg.safetensors").string() + " " +
                              (dir / "from_python.safetensors").string() + " > " +
                              (dir / "log").string() + " 2>&1";
  const int status = std::system(command.c_str());
  const std::string log = read_file(dir / "log");
  INFO("python output:\n", log);
  REQUIRE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) {
    MESSAGE("skipped: Python has no torch");
    return;
  }
  REQUIRE(WEXITSTATUS(status) == 0);
  MESSAGE("Python interop checked with ", log);

  const TensorFile file = load_tensors(dir / "from_python.safetensors");
  CHECK(file.metadata == metadata);
  const nn::OrderedDict<Tensor> expected = python_tensors();
  REQUIRE(file.tensors.size() == expected.size());
  for (const auto& item : expected) {
    INFO("tensor ", item.key());
    REQUIRE(file.tensors.contains(item.key()));
    check_identical(file.tensors[item.key()], item.value());
  }
}

// ---- Fuzzing ------------------------------------------------------------------------------------

namespace {

// One random change to `bytes`, of the kinds that break parsers: a flipped bit, an interesting
// byte, a cut, an insertion, a deletion, a repeated chunk, a new length prefix or a changed digit.
void mutate(std::string& bytes, std::mt19937_64& rng) {
  const auto below = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  static const char kInteresting[] = {'\0', '\x01', '\xff', '"', '\\', '{', '}', '[',
                                      ']',  ',',    ':',    '-', '0',  '9', ' ', '\x80'};
  const size_t pos = below(bytes.size());
  switch (rng() % 8) {
    case 0:
      if (!bytes.empty()) bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << below(8)));
      break;
    case 1:
      if (!bytes.empty()) bytes[pos] = kInteresting[below(sizeof kInteresting)];
      break;
    case 2:
      bytes.resize(pos);
      break;
    case 3:
      bytes.insert(pos, 1 + below(4), kInteresting[below(sizeof kInteresting)]);
      break;
    case 4:
      bytes.erase(pos, 1 + below(8));
      break;
    case 5:
      bytes.insert(pos, bytes.substr(below(bytes.size()), 1 + below(16)));
      break;
    case 6: {
      const uint64_t lengths[] = {
          0, 1, 7, bytes.size(), bytes.size() - 8, uint64_t{1} << 40, static_cast<uint64_t>(rng())};
      if (bytes.size() >= 8) bytes.replace(0, 8, length_prefix(lengths[below(7)]));
      break;
    }
    default:
      // A digit of the header becomes another: sizes and offsets change.
      for (size_t i = 0; i < bytes.size(); ++i) {
        const size_t at = (pos + i) % bytes.size();
        if (bytes[at] >= '0' && bytes[at] <= '9') {
          bytes[at] = static_cast<char>('0' + below(10));
          break;
        }
      }
  }
}

}  // namespace

TEST_CASE("safetensors: 3000 mutated files either load consistently or throw bg::Error") {
  // The libFuzzer target (tests/fuzz) checks the same property, with coverage guidance.
  const std::vector<std::string> seeds = fuzz::safetensors_seeds();
  std::mt19937_64 rng(20240601);
  int loaded = 0;
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string bytes = seeds[static_cast<size_t>(i) % seeds.size()];
    const int mutations = 1 + static_cast<int>(rng() % 3);
    for (int m = 0; m < mutations; ++m) mutate(bytes, rng);
    INFO("mutant ", i);
    bool ok = false;
    CHECK_NOTHROW(ok = fuzz::check_safetensors_bytes(bytes));
    (ok ? loaded : rejected)++;
  }
  // Both outcomes happen, so the loop exercises the reader's success and failure paths.
  MESSAGE(loaded, " mutants loaded, ", rejected, " were rejected");
  CHECK(loaded > 50);
  CHECK(rejected > 1000);
}
