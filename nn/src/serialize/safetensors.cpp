// The safetensors format: writing (lay_out, then a sink) and reading (a byte source checked in full
// before any tensor is built). The rules a file must follow are those of the reference
// implementation, so that a file bayesgrad accepts is one Python's safetensors accepts too.

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>

#include "bg/core/tensor_impl.h"
#include "bg/nn/serialize.h"
#include "io/atomic_file.h"
#include "io/regular_file.h"
#include "serialize/float16.h"
#include "serialize/json.h"

namespace bg {

namespace json = detail::json;

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian bytes, which this code copies as they are");

namespace {

using Metadata = std::map<std::string, std::string>;

constexpr std::string_view kMetadataKey = "__metadata__";
// The bytes before the header that hold its length.
constexpr uint64_t kLengthBytes = 8;
// The largest header the reference implementation reads; bigger ones are refused before reading.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// A dtype of the format: its code, the dtype bayesgrad reads it into, the 16-bit float format it
// is stored in (Keep for the dtypes bayesgrad has), and its element size in the file.
struct DtypeCode {
  std::string_view code;
  Dtype dtype;
  FloatFormat format;
  size_t bytes;
};
constexpr DtypeCode kDtypeCodes[] = {
    {"F32", kFloat32, FloatFormat::Keep, 4}, {"F64", kFloat64, FloatFormat::Keep, 8},
    {"I64", kInt64, FloatFormat::Keep, 8},   {"BOOL", kBool, FloatFormat::Keep, 1},
    {"F16", kFloat32, FloatFormat::F16, 2},  {"BF16", kFloat32, FloatFormat::BF16, 2}};

// How a tensor of `dtype` is written when floats are stored as `format`.
const DtypeCode& code_for(Dtype dtype, FloatFormat format) {
  const FloatFormat stored = is_floating(dtype) ? format : FloatFormat::Keep;
  for (const DtypeCode& entry : kDtypeCodes) {
    if (entry.format == stored && (stored != FloatFormat::Keep || entry.dtype == dtype)) {
      return entry;
    }
  }
  throw Error(detail::concat("safetensors: no code for dtype ", dtype_name(dtype)));
}

const DtypeCode* find_code(std::string_view code) {
  for (const DtypeCode& entry : kDtypeCodes) {
    if (entry.code == code) return &entry;
  }
  return nullptr;
}

std::string in_quotes(const std::string& name) { return "'" + name + "'"; }

// ---- Writing ------------------------------------------------------------------------------------

using Sink = std::function<void(const void* data, size_t size)>;

void check_utf8(const char* op, const std::string& what, const std::string& text) {
  const auto bad = json::invalid_utf8(text);
  BG_CHECK(!bad, op, what, " \"", text, "\" is not valid UTF-8 (byte ", bad.value_or(0),
           "); safetensors headers are UTF-8 JSON");
}

// What a file holds, ready to be written: the length prefix and header, then the tensors whose
// bytes follow in that order.
struct Layout {
  struct Piece {
    Tensor values;                  // contiguous, on the CPU
    std::vector<uint16_t> reduced;  // the values as F16 or BF16, when stored so
  };
  std::string head;
  std::vector<Piece> data;
};

// The float values of `t` (float32 or float64, contiguous) as F16 or BF16 bits.
std::vector<uint16_t> reduce_floats(const Tensor& t, FloatFormat format) {
  const Tensor values = t.to(kFloat32);
  const float* in = values.data_ptr<float>();
  std::vector<uint16_t> out(static_cast<size_t>(values.numel()));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = format == FloatFormat::F16 ? detail::float_to_half(in[i])
                                        : detail::float_to_bfloat16(in[i]);
  }
  return out;
}

Layout lay_out(const char* op, const nn::OrderedDict<Tensor>& tensors, const Metadata& metadata,
               const SaveOptions& options) {
  for (const auto& [key, value] : metadata) {
    check_utf8(op, "the metadata key", key);
    check_utf8(op, "the metadata value of '" + key + "'", value);
  }
  std::vector<Tensor> host;
  host.reserve(tensors.size());
  for (const auto& item : tensors) {
    BG_CHECK(item.key() != kMetadataKey, op, "a tensor may not be named '", kMetadataKey,
             "': the format reserves that name for the metadata");
    check_utf8(op, "the tensor name", item.key());
    BG_CHECK(item.value().defined(), op, "the tensor '", item.key(), "' is undefined");
    host.push_back(item.value().detach().cpu().contiguous());
  }

  // The data follows the header by decreasing element size, as the reference writer lays it out:
  // the data section starts at a multiple of 8 and every tensor before one of element size s has
  // a byte size that is a multiple of s, so every tensor starts aligned for its element type.
  std::vector<const DtypeCode*> codes;
  for (const Tensor& t : host) codes.push_back(&code_for(t.dtype(), options.float_format()));
  std::vector<size_t> order(host.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return codes[a]->bytes > codes[b]->bytes; });
  std::vector<std::pair<uint64_t, uint64_t>> offsets(host.size());
  Layout layout;
  uint64_t cursor = 0;
  for (const size_t i : order) {
    const uint64_t bytes = static_cast<uint64_t>(host[i].numel()) * codes[i]->bytes;
    offsets[i] = {cursor, cursor + bytes};
    cursor += bytes;
    const FloatFormat format = codes[i]->format;
    layout.data.push_back({host[i], format == FloatFormat::Keep ? std::vector<uint16_t>()
                                                                : reduce_floats(host[i], format)});
  }

  // The header lists the metadata first (as the reference writer does), then the tensors in the
  // dict's order, which is the order reading gives them back in.
  std::vector<json::Member> members;
  if (!metadata.empty()) {
    std::vector<json::Member> pairs;
    for (const auto& [key, value] : metadata) {
      pairs.push_back(json::Member{key, json::Value::of_string(value)});
    }
    members.push_back(json::Member{std::string(kMetadataKey), json::Value::of_object(pairs)});
  }
  size_t index = 0;
  for (const auto& item : tensors) {
    std::vector<json::Value> shape;
    for (const int64_t size : host[index].sizes()) shape.push_back(json::Value::of_integer(size));
    const auto [begin, end] = offsets[index];
    members.push_back(json::Member{
        item.key(), json::Value::of_object({
                        {"dtype", json::Value::of_string(std::string(codes[index]->code))},
                        {"shape", json::Value::of_array(std::move(shape))},
                        {"data_offsets", json::Value::of_array(
                                             {json::Value::of_integer(static_cast<int64_t>(begin)),
                                              json::Value::of_integer(static_cast<int64_t>(end))})},
                    })});
    ++index;
  }
  std::string header = json::write(json::Value::of_object(std::move(members)));
  header.append((kLengthBytes - header.size() % kLengthBytes) % kLengthBytes, ' ');

  const uint64_t length = header.size();
  layout.head.resize(kLengthBytes);
  std::memcpy(layout.head.data(), &length, kLengthBytes);
  layout.head += header;
  return layout;
}

void emit(const Layout& layout, const Sink& sink) {
  sink(layout.head.data(), layout.head.size());
  for (const Layout::Piece& piece : layout.data) {
    const Tensor& t = piece.values;
    if (t.numel() == 0) continue;
    if (!piece.reduced.empty()) {
      sink(piece.reduced.data(), piece.reduced.size() * sizeof(uint16_t));
    } else {
      sink(t.impl()->data(), static_cast<size_t>(t.numel()) * element_size(t.dtype()));
    }
  }
}

// ---- Reading ------------------------------------------------------------------------------------

// Where reading gets bytes from: a file, or memory.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual uint64_t size() const = 0;
  /// Copies `count` bytes at `offset` (offset + count <= size()) into `out`.
  virtual void read(uint64_t offset, void* out, size_t count) = 0;
};

class MemorySource : public ByteSource {
 public:
  explicit MemorySource(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  void read(uint64_t offset, void* out, size_t count) override {
    std::memcpy(out, bytes_.data() + offset, count);
  }

 private:
  std::string_view bytes_;
};

class FileSource : public ByteSource {
 public:
  FileSource(const std::filesystem::path& path, std::string where)
      : file_(path, std::move(where)) {}

  uint64_t size() const override { return file_.size(); }
  void read(uint64_t offset, void* out, size_t count) override { file_.read(offset, out, count); }

 private:
  detail::RegularFile file_;
};

// One tensor as the header describes it.
struct Entry {
  std::string name;
  size_t name_offset;  // of the name in the file, for messages
  const DtypeCode* code;
  Shape shape;
  uint64_t begin;  // data_offsets, relative to the data section
  uint64_t end;
};

// How messages name an entry: "entry 'fc.weight' (byte 12)".
std::string describe_entry(const std::string& name, size_t offset) {
  return detail::concat("entry '", name, "' (byte ", offset, ")");
}
std::string describe_entry(const Entry& entry) {
  return describe_entry(entry.name, entry.name_offset);
}

// ---- The header ---------------------------------------------------------------------------------
// Read with json::Reader, token by token: what the format does not allow (an array where the
// metadata holds strings, a field an entry does not have) is refused when scanned, so the header
// costs no more than the entries and metadata it holds (Note in json.h).

using Kind = json::Value::Kind;

// An array of integers in an entry ('shape', 'data_offsets'), as scanned: how many elements it has
// and the first few, each an integer or the kind of what stands there instead.
struct ScannedArray {
  struct Element {
    Kind kind;
    int64_t integer;
    size_t offset;
  };
  size_t offset;
  size_t count = 0;
  std::vector<Element> first;
};

ScannedArray scan_array(json::Reader& in, size_t keep) {
  ScannedArray out;
  out.offset = in.offset();
  in.begin_array();
  while (in.next_element()) {
    ++out.count;
    const Kind kind = in.next_kind();
    const size_t offset = in.offset();
    if (out.first.size() < keep && kind == Kind::Integer) {
      out.first.push_back({kind, in.read_integer(), offset});
      continue;
    }
    if (out.first.size() < keep) out.first.push_back({kind, 0, offset});
    in.skip_value();
  }
  return out;
}

// An element of an entry's array that must be a non-negative integer.
uint64_t non_negative(const std::string& where, const std::string& entry, const char* name,
                      const ScannedArray::Element& element) {
  BG_CHECK(element.kind == Kind::Integer && element.integer >= 0, where, entry, ": '", name,
           "' at byte ", element.offset, " must hold non-negative integers, found ",
           element.kind == Kind::Integer ? std::to_string(element.integer)
                                         : json::kind_name(element.kind));
  return static_cast<uint64_t>(element.integer);
}

Entry read_entry(json::Reader& in, const std::string& where, std::string name, size_t name_offset) {
  const std::string entry = describe_entry(name, name_offset);
  const Kind kind = in.next_kind();
  BG_CHECK(kind == Kind::Object, where, entry,
           " must be an object with 'dtype', 'shape' and 'data_offsets', found ",
           json::kind_name(kind));
  // The kind of the value of `field`, checked before it is read.
  const auto check_kind = [&](const char* field, Kind expected, const char* description) {
    const Kind found = in.next_kind();
    BG_CHECK(found == expected, where, entry, ": '", field, "' at byte ", in.offset(), " must be ",
             description, ", found ", json::kind_name(found));
  };
  std::optional<std::string> code;
  size_t code_offset = 0;
  std::optional<ScannedArray> shape, offsets;
  in.begin_object();
  std::string field;
  size_t field_offset;
  while (in.next_key(field, field_offset)) {
    if (field == "dtype") {
      check_kind("dtype", Kind::String, "a string");
      code_offset = in.offset();
      code = in.read_string();
    } else if (field == "shape") {
      check_kind("shape", Kind::Array, "an array of sizes");
      shape = scan_array(in, static_cast<size_t>(kMaxDims));
    } else if (field == "data_offsets") {
      check_kind("data_offsets", Kind::Array, "an array [begin, end]");
      offsets = scan_array(in, 2);
    } else {
      throw Error(detail::concat(where, ": ", entry, " has an unknown field '", field, "' at byte ",
                                 field_offset));
    }
  }

  BG_CHECK(code, where, entry, " has no 'dtype' field");
  const DtypeCode* stored = find_code(*code);
  BG_CHECK(stored, where, entry, " has dtype \"", *code, "\" (byte ", code_offset,
           "), which bayesgrad cannot read: it reads F32, F64, I64, BOOL, F16 and BF16");
  const Dtype dtype = stored->dtype;

  BG_CHECK(shape, where, entry, " has no 'shape' field");
  BG_CHECK(shape->count <= static_cast<size_t>(kMaxDims), where, entry, " has ", shape->count,
           " dims; bayesgrad tensors have at most ", kMaxDims);
  Entry out{std::move(name), name_offset, stored, {}, 0, 0};
  // Sizes are bounded so that the element count and the strides computed from them (where an
  // empty dim counts as 1) fit in int64 whatever the data holds.
  const uint64_t max_elements =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / element_size(dtype);
  uint64_t bound = 1;
  for (const ScannedArray::Element& size : shape->first) {
    const uint64_t value = non_negative(where, entry, "shape", size);
    const uint64_t factor = std::max<uint64_t>(value, 1);
    BG_CHECK(bound <= max_elements / factor, where, entry, ": the shape at byte ", shape->offset,
             " is too large to be a tensor");
    bound *= factor;
    out.shape.push_back(static_cast<int64_t>(value));
  }

  BG_CHECK(offsets, where, entry, " has no 'data_offsets' field");
  BG_CHECK(offsets->count == 2, where, entry, ": 'data_offsets' at byte ", offsets->offset,
           " must hold 2 integers [begin, end], found ", offsets->count);
  out.begin = non_negative(where, entry, "data_offsets", offsets->first[0]);
  out.end = non_negative(where, entry, "data_offsets", offsets->first[1]);
  BG_CHECK(out.begin <= out.end, where, entry, ": data_offsets [", out.begin, ", ", out.end,
           "] end before they begin");
  const uint64_t bytes = static_cast<uint64_t>(numel_of(out.shape)) * stored->bytes;
  BG_CHECK(out.end - out.begin == bytes, where, entry, ": data_offsets [", out.begin, ", ", out.end,
           "] span ", out.end - out.begin, " bytes, but ", *code, " ", shape_str(out.shape),
           " needs ", bytes);
  return out;
}

// The metadata: a flat map of strings, and nothing else.
Metadata read_metadata(json::Reader& in, const std::string& where) {
  const size_t offset = in.offset();
  const Kind kind = in.next_kind();
  BG_CHECK(kind == Kind::Object, where, "'", kMetadataKey, "' at byte ", offset,
           " must be an object of strings, found ", json::kind_name(kind));
  Metadata metadata;
  std::string key;
  size_t key_offset;
  in.begin_object();
  while (in.next_key(key, key_offset)) {
    const Kind value = in.next_kind();
    BG_CHECK(value == Kind::String, where, "the metadata '", key, "' at byte ", in.offset(),
             " must be a string, found ", json::kind_name(value));
    metadata.emplace(std::move(key), in.read_string());
  }
  return metadata;
}

struct Header {
  std::vector<Entry> entries;
  Metadata metadata;
};

// The header `text`, which starts at byte `base` of the file. Its JSON grammar is checked first
// (json::validate holds nothing but the keys of one object at a time), so that a syntax error is
// reported as such wherever it is; then its contents are read.
Header read_header(std::string_view text, const std::string& where, size_t base) {
  json::validate(text, where, base);
  json::Reader in(text, where, base);
  const size_t offset = in.offset();
  const Kind kind = in.next_kind();
  BG_CHECK(kind == Kind::Object, where, "the header must be a JSON object, found ",
           json::kind_name(kind), " at byte ", offset);
  Header header;
  std::string key;
  size_t key_offset;
  in.begin_object();
  while (in.next_key(key, key_offset)) {
    if (key == kMetadataKey) {
      header.metadata = read_metadata(in, where);
    } else {
      header.entries.push_back(read_entry(in, where, std::move(key), key_offset));
    }
  }
  in.end();
  return header;
}

// The tensors' byte ranges must tile the data section exactly, as the reference reader requires:
// in range, without overlaps, gaps or trailing bytes.
void check_tiling(const std::string& where, const std::vector<Entry>& entries, uint64_t data_start,
                  uint64_t data_size) {
  for (const Entry& entry : entries) {
    BG_CHECK(entry.end <= data_size, where, describe_entry(entry), ": data_offsets [", entry.begin,
             ", ", entry.end, "] go past the end of the data section, which holds ", data_size,
             " bytes (from byte ", data_start, ")");
  }
  std::vector<const Entry*> by_offset;
  for (const Entry& entry : entries) by_offset.push_back(&entry);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
  });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const Entry* entry : by_offset) {
    BG_CHECK(entry->begin >= covered, where, "the data of ", describe_entry(*previous), " [",
             previous->begin, ", ", previous->end, ") and of ", describe_entry(*entry), " [",
             entry->begin, ", ", entry->end, ") overlap");
    BG_CHECK(entry->begin == covered, where, "bytes [", covered, ", ", entry->begin,
             ") of the data section, before ", describe_entry(*entry),
             ", belong to no tensor (a gap the format does not allow)");
    covered = entry->end;
    previous = entry;
  }
  BG_CHECK(covered == data_size, where, data_size - covered,
           " trailing bytes follow the last tensor's data (from byte ", data_start + covered,
           " of ", data_start + data_size, ")");
}

// Fills the float32 `out` from the F16 or BF16 values at `offset`, a slice at a time.
void read_reduced_floats(ByteSource& source, uint64_t offset, FloatFormat format,
                         const Tensor& out) {
  float* values = out.data_ptr<float>();
  std::vector<uint16_t> slice(size_t{1} << 16);
  for (int64_t done = 0; done < out.numel();) {
    const auto count = static_cast<size_t>(
        std::min<int64_t>(out.numel() - done, static_cast<int64_t>(slice.size())));
    source.read(offset + static_cast<uint64_t>(done) * sizeof(uint16_t), slice.data(),
                count * sizeof(uint16_t));
    for (size_t i = 0; i < count; ++i) {
      values[done + static_cast<int64_t>(i)] = format == FloatFormat::F16
                                                   ? detail::half_to_float(slice[i])
                                                   : detail::bfloat16_to_float(slice[i]);
    }
    done += static_cast<int64_t>(count);
  }
}

TensorFile read_tensors(ByteSource& source, const std::string& where) {
  const uint64_t size = source.size();
  BG_CHECK(size >= kLengthBytes, where, "the file is too short (", size,
           " bytes) to hold the 8-byte header length");
  uint64_t length = 0;
  source.read(0, &length, kLengthBytes);
  BG_CHECK(length <= kMaxHeaderBytes, where, "the header length ", length,
           " (bytes 0-7) exceeds the format's limit of ", kMaxHeaderBytes, " bytes");
  BG_CHECK(length <= size - kLengthBytes, where, "the header length ", length,
           " (bytes 0-7) is larger than the ", size - kLengthBytes, " bytes that follow it");
  std::string text(length, '\0');
  source.read(kLengthBytes, text.data(), length);
  Header header = read_header(text, where, kLengthBytes);
  text = std::string();  // read: its memory can serve the tensors
  const std::vector<Entry>& entries = header.entries;
  TensorFile file;
  file.metadata = std::move(header.metadata);
  const uint64_t data_start = kLengthBytes + length;
  check_tiling(where, entries, data_start, size - data_start);

  // Everything is consistent: now the tensors can be built, in the header's order.
  for (const Entry& entry : entries) {
    Tensor tensor = empty(entry.shape, entry.code->dtype);
    const uint64_t bytes = entry.end - entry.begin;
    if (entry.code->format != FloatFormat::Keep) {
      read_reduced_floats(source, data_start + entry.begin, entry.code->format, tensor);
      file.stored_as.emplace(entry.name, entry.code->code);
    } else if (bytes > 0) {
      source.read(data_start + entry.begin, tensor.impl()->data(), bytes);
    }
    if (entry.code->dtype == kBool) {
      // Any other byte would be an invalid C++ bool: check before anything reads them as bools.
      const auto* raw = static_cast<const unsigned char*>(tensor.impl()->data());
      for (uint64_t i = 0; i < bytes; ++i) {
        BG_CHECK(raw[i] <= 1, where, describe_entry(entry), ": BOOL element ", i, " (byte ",
                 data_start + entry.begin + i, ") is ", static_cast<int>(raw[i]),
                 "; booleans must be 0 or 1");
      }
    }
    file.tensors.insert(entry.name, std::move(tensor));
  }
  return file;
}

// "load_tensors: 'model.safetensors'": how messages start.
std::string message_prefix(const char* op, const std::string& name) {
  return op + (": " + in_quotes(name));
}

}  // namespace

void save_tensors(const std::filesystem::path& path, const nn::OrderedDict<Tensor>& tensors,
                  const Metadata& metadata, const SaveOptions& options) {
  const Layout layout = lay_out("save_tensors", tensors, metadata, options);
  detail::AtomicFile file(path, "save_tensors");
  emit(layout, [&](const void* data, size_t size) { file.write(data, size); });
  file.commit();
}

TensorFile load_tensors(const std::filesystem::path& path) {
  const std::string name = message_prefix("load_tensors", path.string());
  FileSource source(path, name);
  return read_tensors(source, name);
}

std::string serialize_tensors(const nn::OrderedDict<Tensor>& tensors, const Metadata& metadata,
                              const SaveOptions& options) {
  const Layout layout = lay_out("serialize_tensors", tensors, metadata, options);
  std::string out;
  emit(layout,
       [&](const void* data, size_t size) { out.append(static_cast<const char*>(data), size); });
  return out;
}

TensorFile deserialize_tensors(std::string_view bytes, const std::string& name) {
  MemorySource source(bytes);
  return read_tensors(source, message_prefix("deserialize_tensors", name));
}

void save(const nn::Module& module, const std::filesystem::path& path, const Metadata& metadata,
          const SaveOptions& options) {
  save_tensors(path, module.state_dict(), metadata, options);
}

Metadata load(nn::Module& module, const std::filesystem::path& path, bool strict) {
  TensorFile file = load_tensors(path);
  // load_state_dict checks every key and shape before it copies anything (with `strict`, a
  // mismatch throws and nothing is changed), so a module is never half loaded.
  try {
    module.load_state_dict(file.tensors, strict);
  } catch (const Error& e) {
    // Shapes and values are the file's; its dtypes that bayesgrad lacks are worth naming.
    std::string stored;
    for (const auto& [name, code] : file.stored_as) {
      stored += (stored.empty() ? "" : ", ") + name + " as " + code;
    }
    throw Error(detail::concat("load: ", in_quotes(path.string()), ": ", e.what(),
                               stored.empty() ? "" : " (the file stores ", stored,
                               stored.empty() ? "" : ", read as float32)"));
  }
  return std::move(file.metadata);
}

nn::OrderedDict<Tensor> load(const std::filesystem::path& path) {
  return load_tensors(path).tensors;
}

}  // namespace bg
