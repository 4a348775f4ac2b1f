// bg::data: TensorDataset, DataLoader, the IDX and CSV readers, and the MNIST datasets. Fixture
// files are written by the tests into a temporary directory.

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "bg/nn.h"
#include "temp_dir.h"
#include "test_util.h"

namespace bg {
namespace {

using test::check_close;
using test::check_error;
using test::ints;
using test::values;
using Bytes = std::vector<unsigned char>;
using test::TempDir;

void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_text(const std::string& path, const std::string& text) {
  write_file(path, Bytes(text.begin(), text.end()));
}

// `bytes` as a gzip file (through zlib's own writer, independent of the reader under test).
void write_gzip(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  if (!bytes.empty()) {
    REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
  }
  REQUIRE(gzclose(file) == Z_OK);
}

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// ---- Datasets and DataLoader --------------------------------------------------------------------

// Example i is {[i, i, i], 10 + i}: every batch tells which examples it holds.
std::shared_ptr<data::TensorDataset> numbered_dataset(int64_t n) {
  const Tensor rows = arange(n, kFloat32).unsqueeze(1).expand({n, 3}).contiguous();
  return std::make_shared<data::TensorDataset>(rows, arange(n) + 10);
}

// The example indices of each batch of one epoch (read from the numbered dataset's targets), after
// checking that the data rows match them.
std::vector<std::vector<int64_t>> epoch_indices(data::DataLoader& loader) {
  std::vector<std::vector<int64_t>> batches;
  for (const data::Example& batch : loader) {
    std::vector<int64_t> indices = ints(batch.target);
    for (int64_t& index : indices) index -= 10;
    std::vector<double> rows;
    for (int64_t index : indices) rows.insert(rows.end(), 3, static_cast<double>(index));
    CHECK(batch.data.sizes() == Shape{static_cast<int64_t>(indices.size()), 3});
    CHECK(values(batch.data) == rows);
    batches.push_back(std::move(indices));
  }
  return batches;
}

std::vector<int64_t> concatenated(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> all;
  for (const std::vector<int64_t>& batch : batches)
    all.insert(all.end(), batch.begin(), batch.end());
  return all;
}

std::vector<int64_t> range_of(int64_t n) {
  std::vector<int64_t> all(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
  return all;
}

// A dataset without a fast batch path: get_batch stacks get(i) one by one.
class SquaresDataset : public data::Dataset {
 public:
  explicit SquaresDataset(int64_t n, bool with_targets = true)
      : n_(n), with_targets_(with_targets) {}
  int64_t size() const override { return n_; }
  data::Example get(int64_t index) const override {
    const auto i = static_cast<double>(index);
    return {tensor({i, i * i}), with_targets_ ? scalar_tensor(index % 2) : Tensor()};
  }

 private:
  int64_t n_;
  bool with_targets_;
};

TEST_CASE("TensorDataset: examples are slices along the first dim") {
  const auto dataset = numbered_dataset(4);
  CHECK(dataset->size() == 4);
  const data::Example example = dataset->get(2);
  CHECK(values(example.data) == std::vector<double>{2, 2, 2});
  CHECK(example.target.dim() == 0);
  CHECK(example.target.item<int64_t>() == 12);

  const data::Example batch = dataset->get_batch({3, 0, 3});
  CHECK(batch.data.sizes() == Shape{3, 3});
  CHECK(values(batch.data) == std::vector<double>{3, 3, 3, 0, 0, 0, 3, 3, 3});
  CHECK(ints(batch.target) == std::vector<int64_t>{13, 10, 13});

  const data::TensorDataset unlabeled(arange(6).reshape({3, 2}));
  CHECK(!unlabeled.get(1).target.defined());
  CHECK(ints(unlabeled.get(1).data) == std::vector<int64_t>{2, 3});
  CHECK(!unlabeled.get_batch({2}).target.defined());
}

TEST_CASE("TensorDataset: errors name the sizes and the index") {
  check_error(
      {"TensorDataset", "same size in their first dim", "float32[4, 3] on cpu", "int64[5] on cpu"},
      [] {
        data::TensorDataset(zeros({4, 3}), arange(5));
      });
  check_error({"TensorDataset", "first dim", "float32[] on cpu"},
              [] { data::TensorDataset(scalar_tensor(1.0)); });
  check_error({"TensorDataset", "undefined"}, [] { data::TensorDataset{Tensor()}; });
  check_error({"TensorDataset", "first dim", "int64[] on cpu"},
              [] { data::TensorDataset(zeros({2}), scalar_tensor(1)); });
  const auto dataset = numbered_dataset(4);
  check_error({"TensorDataset::get", "index 4 is out of range for a dataset of 4 examples"},
              [&] { dataset->get(4); });
  check_error({"TensorDataset::get", "index -1"}, [&] { dataset->get(-1); });
  check_error({"TensorDataset::get_batch", "index 7 is out of range"}, [&] {
    dataset->get_batch({0, 7});
  });
}

TEST_CASE("Dataset::get_batch stacks the examples of a dataset without a fast path") {
  const SquaresDataset squares(5);
  const data::Example batch = squares.get_batch({3, 0, 1});
  CHECK(batch.data.sizes() == Shape{3, 2});
  CHECK(values(batch.data) == std::vector<double>{3, 9, 0, 0, 1, 1});
  CHECK(ints(batch.target) == std::vector<int64_t>{1, 0, 1});
  CHECK(!SquaresDataset(5, false).get_batch({4}).target.defined());
  check_error({"Dataset::get_batch", "index 5 is out of range for a dataset of 5 examples"}, [&] {
    squares.get_batch({1, 5});
  });
  check_error({"Dataset::get_batch", "at least one index"}, [&] { squares.get_batch({}); });
}

TEST_CASE("Dataset::get_batch rejects examples that only sometimes have a target") {
  class Mixed : public SquaresDataset {
   public:
    Mixed() : SquaresDataset(3) {}
    data::Example get(int64_t index) const override {
      data::Example example = SquaresDataset::get(index);
      if (index == 1) example.target = Tensor();
      return example;
    }
  };
  check_error({"Dataset::get_batch", "only 2 of the 3 examples have a target"}, [] {
    Mixed().get_batch({0, 1, 2});
  });
}

TEST_CASE("DataLoader: batches in order, the last one partial") {
  data::DataLoader loader(numbered_dataset(10), data::DataLoaderOptions().batch_size(4));
  CHECK(loader.num_batches() == 3);
  CHECK(loader.size() == 10);
  const std::vector<std::vector<int64_t>> expected{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}};
  CHECK(epoch_indices(loader) == expected);
  CHECK(epoch_indices(loader) == expected);  // without shuffling every epoch is the same

  data::DataLoader exact(numbered_dataset(8), data::DataLoaderOptions(4));
  CHECK(exact.num_batches() == 2);
  CHECK(epoch_indices(exact) == std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}});

  data::DataLoader single(numbered_dataset(3));  // batch_size 1 by default, as in PyTorch
  CHECK(epoch_indices(single) == std::vector<std::vector<int64_t>>{{0}, {1}, {2}});
}

TEST_CASE("DataLoader: drop_last skips the partial batch") {
  data::DataLoader loader(numbered_dataset(10),
                          data::DataLoaderOptions().batch_size(4).drop_last(true));
  CHECK(loader.num_batches() == 2);
  CHECK(loader.size() == 8);
  CHECK(epoch_indices(loader) == std::vector<std::vector<int64_t>>{{0, 1, 2, 3}, {4, 5, 6, 7}});

  data::DataLoader too_small(numbered_dataset(3),
                             data::DataLoaderOptions().batch_size(4).drop_last(true));
  CHECK(too_small.num_batches() == 0);
  CHECK(too_small.size() == 0);
  CHECK(epoch_indices(too_small).empty());
}

TEST_CASE("DataLoader: shuffling visits every example once per epoch, in a new order each epoch") {
  constexpr int64_t n = 50;
  data::DataLoader loader(numbered_dataset(n),
                          data::DataLoaderOptions().batch_size(8).shuffle(true).seed(3));
  std::set<std::vector<int64_t>> orders;
  for (int epoch = 0; epoch < 4; ++epoch) {
    const std::vector<std::vector<int64_t>> batches = epoch_indices(loader);
    REQUIRE(batches.size() == 7);
    for (size_t b = 0; b + 1 < batches.size(); ++b) CHECK(batches[b].size() == 8);
    CHECK(batches.back().size() == 2);
    std::vector<int64_t> order = concatenated(batches);
    CHECK(order != range_of(n));  // 1 in 50! to fail by chance
    orders.insert(order);
    std::sort(order.begin(), order.end());
    CHECK(order == range_of(n));
  }
  CHECK(orders.size() == 4);
}

TEST_CASE("DataLoader: the same seed gives the same batches, another seed others") {
  const auto dataset = numbered_dataset(30);
  const auto options = data::DataLoaderOptions().batch_size(7).shuffle(true);
  data::DataLoader a(dataset, data::DataLoaderOptions(options).seed(11));
  data::DataLoader b(dataset, data::DataLoaderOptions(options).seed(11));
  data::DataLoader c(dataset, data::DataLoaderOptions(options).seed(12));
  for (int epoch = 0; epoch < 3; ++epoch) {
    const auto first = epoch_indices(a);
    CHECK(epoch_indices(b) == first);
    CHECK(epoch_indices(c) != first);
  }

  // Replaying from a saved generator state gives the same epoch again.
  const GeneratorState saved = a.generator().get_state();
  const auto next = epoch_indices(a);
  a.generator().set_state(saved);
  CHECK(epoch_indices(a) == next);
}

TEST_CASE("DataLoader: without a seed, the seed comes from the default generator") {
  const auto dataset = numbered_dataset(30);
  const auto options = data::DataLoaderOptions().batch_size(30).shuffle(true);
  manual_seed(5);
  data::DataLoader a(dataset, options);
  data::DataLoader after_a(dataset, options);  // the default generator moved on
  manual_seed(5);
  data::DataLoader b(dataset, options);
  const auto order = epoch_indices(a);
  CHECK(epoch_indices(b) == order);
  CHECK(epoch_indices(after_a) != order);

  // An explicit seed leaves the default generator alone.
  const GeneratorState before = default_generator().get_state();
  data::DataLoader seeded(dataset, data::DataLoaderOptions(options).seed(1));
  CHECK(default_generator().get_state() == before);
}

TEST_CASE("DataLoader: shuffles are uniform over the permutations") {
  // Fisher-Yates gives each of the 3! orders of 3 examples probability 1/6; an off-by-one in the
  // swap range would give some orders probability 0 (Sattolo's cycles) or skew them.
  data::DataLoader loader(numbered_dataset(3),
                          data::DataLoaderOptions().batch_size(3).shuffle(true).seed(2024));
  std::map<std::vector<int64_t>, int> counts;
  constexpr int kEpochs = 6000;
  for (int epoch = 0; epoch < kEpochs; ++epoch) ++counts[concatenated(epoch_indices(loader))];
  CHECK(counts.size() == 6);
  for (const auto& entry : counts) {
    const auto& order = entry.first;  // not [order, count]: clang 14 cannot capture bindings
    const auto& count = entry.second;
    // Binomial(6000, 1/6): mean 1000, standard deviation 29; 150 is over 5 of them.
    INFO("order starting with ", order[0], ", ", order[1]);
    CHECK(std::abs(count - 1000) < 150);
  }
}

TEST_CASE("DataLoader: a dataset without a fast path gives the same batches") {
  // Both loaders draw the same order from the same seed; the stacked batches must match the
  // index_select ones.
  const auto options = data::DataLoaderOptions().batch_size(3).shuffle(true).seed(9);
  const auto squares = std::make_shared<SquaresDataset>(7);
  const Tensor i = arange(7, kFloat64);
  const auto tensors =
      std::make_shared<data::TensorDataset>(stack({i, i * i}, 1), tensor({0, 1, 0, 1, 0, 1, 0}));
  data::DataLoader stacked(squares, options);
  data::DataLoader selected(tensors, options);
  std::vector<data::Example> expected;
  for (const data::Example& batch : selected) expected.push_back(batch);
  size_t b = 0;
  for (const data::Example& batch : stacked) {
    REQUIRE(b < expected.size());
    test::check_equal(batch.data, expected[b].data);
    test::check_equal(batch.target, expected[b].target);
    ++b;
  }
  CHECK(b == 3);
}

TEST_CASE("DataLoader: errors") {
  check_error({"DataLoader", "batch_size must be positive, got 0"}, [] {
    data::DataLoader(numbered_dataset(3), data::DataLoaderOptions().batch_size(0));
  });
  check_error({"DataLoader", "batch_size must be positive, got -2"}, [] {
    data::DataLoader(numbered_dataset(3), data::DataLoaderOptions().batch_size(-2));
  });
  check_error({"DataLoader", "the dataset is empty"}, [] {
    data::DataLoader(std::make_shared<data::TensorDataset>(zeros({0, 3})));
  });
  check_error({"DataLoader", "the dataset is null"}, [] { data::DataLoader(nullptr); });

  data::DataLoader loader(numbered_dataset(2), data::DataLoaderOptions().batch_size(2));
  auto it = loader.begin();
  ++it;
  CHECK(it == loader.end());
  check_error({"DataLoader", "past the last batch"}, [&] { (void)*it; });
  check_error({"DataLoader", "past the last batch"}, [&] { ++it; });
}

// ---- IDX ----------------------------------------------------------------------------------------

// `bits` as `count` big-endian bytes.
void append_big_endian(Bytes& out, uint64_t bits, int count) {
  for (int i = count - 1; i >= 0; --i) out.push_back(static_cast<unsigned char>(bits >> (8 * i)));
}

Bytes idx_file(unsigned char type_code, const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes out{0, 0, type_code, static_cast<unsigned char>(dims.size())};
  for (uint32_t size : dims) append_big_endian(out, size, 4);
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

struct IdxCase {
  unsigned char code;
  const char* name;
  std::vector<double> values;  // each exactly representable in the type
  Dtype dtype;                 // what read_idx makes of it by default
};

// The IDX encoding of `values` as elements of the case's type.
Bytes encode(const IdxCase& c) {
  Bytes out;
  for (double v : c.values) {
    switch (c.code) {
      case 0x0D:
        append_big_endian(out, std::bit_cast<uint32_t>(static_cast<float>(v)), 4);
        break;
      case 0x0E:
        append_big_endian(out, std::bit_cast<uint64_t>(v), 8);
        break;
      default: {
        const int bytes = c.code == 0x0B ? 2 : c.code == 0x0C ? 4 : 1;
        append_big_endian(out, static_cast<uint64_t>(static_cast<int64_t>(v)), bytes);
      }
    }
  }
  return out;
}

const std::vector<IdxCase>& idx_cases() {
  static const std::vector<IdxCase> cases{
      {0x08, "unsigned byte", {0, 1, 127, 128, 200, 255}, kInt64},
      {0x09, "signed byte", {-128, -1, 0, 1, 100, 127}, kInt64},
      {0x0B, "short", {-32768, -2, 0, 258, 1000, 32767}, kInt64},
      {0x0C, "int", {-2147483648.0, -70000, 0, 16909060, 65536, 2147483647}, kInt64},
      {0x0D, "float", {1.5, -0.25, 3.4028234663852886e38, 1e-30f, 0, -7}, kFloat32},
      {0x0E, "double", {0.1, -1e300, 5e-324, 1.0 / 3, 0, -2}, kFloat64},
  };
  return cases;
}

TEST_CASE("read_idx: every type code, plain and gzip, big-endian") {
  TempDir dir;
  for (const IdxCase& c : idx_cases()) {
    for (const bool gzip : {false, true}) {
      INFO(c.name, gzip ? " (gzip)" : "");
      const std::string path = (dir / (std::string("x.idx") + (gzip ? ".gz" : ""))).string();
      const Bytes bytes = idx_file(c.code, {2, 3}, encode(c));
      gzip ? write_gzip(path, bytes) : write_file(path, bytes);
      const Tensor x = data::read_idx(path);
      CHECK(x.dtype() == c.dtype);
      CHECK(x.sizes() == Shape{2, 3});
      CHECK(values(x) == c.values);
      // Any type can be asked for as float64, which holds all of their values exactly.
      CHECK(values(data::read_idx(path, kFloat64)) == c.values);
      CHECK(data::read_idx(path, kFloat64).dtype() == kFloat64);
    }
  }
}

TEST_CASE("read_idx: requested dtypes") {
  TempDir dir;
  const std::string bytes_path = (dir / "bytes.idx").string();
  write_file(bytes_path, idx_file(0x08, {3}, {0, 7, 255}));
  const Tensor as_float = data::read_idx(bytes_path, kFloat32);
  CHECK(as_float.dtype() == kFloat32);
  CHECK(values(as_float) == std::vector<double>{0, 7, 255});

  const std::string doubles_path = (dir / "doubles.idx").string();
  write_file(doubles_path, idx_file(0x0E, {2}, encode({0x0E, "double", {0.1, -2}, kFloat64})));
  check_close(data::read_idx(doubles_path, kFloat32), {0.1f, -2}, 0);
  check_error({"read_idx", doubles_path, "cannot read double data as int64"},
              [&] { data::read_idx(doubles_path, kInt64); });
  check_error({"read_idx", bytes_path, "as bool"}, [&] { data::read_idx(bytes_path, kBool); });
}

TEST_CASE("read_idx: dims from the header, including none and empty ones") {
  TempDir dir;
  const std::string path = (dir / "x.idx").string();
  write_file(path, idx_file(0x08, {2, 1, 3}, {1, 2, 3, 4, 5, 6}));
  CHECK(data::read_idx(path).sizes() == Shape{2, 1, 3});
  write_file(path, idx_file(0x08, {}, {42}));
  const Tensor scalar = data::read_idx(path);
  CHECK(scalar.dim() == 0);
  CHECK(scalar.item<int64_t>() == 42);
  // A zero dim makes the tensor empty however large the other dims are.
  write_file(path, idx_file(0x0C, {0, 4000000000u}, {}));
  CHECK(data::read_idx(path).sizes() == Shape{0, 4000000000});
}

TEST_CASE("read_idx: gzip is recognized by its magic bytes, not the file name") {
  TempDir dir;
  const std::string path = (dir / "no-suffix").string();
  write_gzip(path, idx_file(0x08, {2}, {9, 8}));
  CHECK(ints(data::read_idx(path)) == std::vector<int64_t>{9, 8});
}

// Reading `bytes`, stored plainly and gzip-compressed, throws naming the file and every part.
void check_idx_error(const Bytes& bytes, const std::vector<std::string>& parts) {
  TempDir dir;
  for (const bool gzip : {false, true}) {
    const std::string path = (dir / (gzip ? "bad.idx.gz" : "bad.idx")).string();
    gzip ? write_gzip(path, bytes) : write_file(path, bytes);
    std::vector<std::string> expected = parts;
    expected.push_back("read_idx: " + path +
                       (gzip ? " (gzip; offsets count decompressed bytes): " : ": "));
    check_error(expected, [&] { data::read_idx(path); });
  }
}

TEST_CASE("read_idx: corrupt and truncated files name the file and the byte offset") {
  const Bytes good = idx_file(0x08, {2, 3}, {1, 2, 3, 4, 5, 6});
  check_idx_error({}, {"the file ends at byte offset 0, inside the 4-byte magic number"});
  check_idx_error({0, 0}, {"the file ends at byte offset 2, inside the 4-byte magic number"});
  check_idx_error({1, 0, 8, 1, 0, 0, 0, 0},
                  {"bad magic number 0x01 0x00 0x08 0x01 at byte offset 0"});
  check_idx_error(idx_file(0x0A, {1}, {0}), {"unknown type code 0x0a at byte offset 2"});
  check_idx_error(Bytes(good.begin(), good.begin() + 10),
                  {"the file ends at byte offset 10, inside the header: 2 dims need 12 header "
                   "bytes"});
  check_idx_error(Bytes(good.begin(), good.end() - 1),
                  {"the file ends at byte offset 17, but its header (dims [2, 3] of unsigned byte) "
                   "promises 6 data bytes, up to byte offset 18"});
  check_idx_error(idx_file(0x0C, {2}, {0, 0, 0, 1, 0, 0}),
                  {"the file ends at byte offset 14, but its header (dims [2] of int) promises 8 "
                   "data bytes, up to byte offset 16"});
  Bytes trailing = good;
  trailing.insert(trailing.end(), {7, 7});
  check_idx_error(trailing, {"the file goes on after byte offset 18, where the data its header "
                             "promises ends"});
  check_idx_error(idx_file(0x0E, {4294967295u, 4294967295u, 4294967295u}, {}),
                  {"dims [4294967295, 4294967295, 4294967295] at byte offset 4 hold more double "
                   "elements than fit in memory"});
}

TEST_CASE("read_idx: the size the header promises is checked against a limit the caller sets") {
  // 2^29 bytes fit in 521 KB of gzip: read as float32 they took 2.5 GB. The default limit is
  // 1 GiB of tensor (int64 by default for bytes), checked before any data is read.
  check_idx_error(idx_file(0x08, {8192, 65536}, {}),
                  {"dims [8192, 65536] at byte offset 4", "make 4294967296 bytes of int64",
                   "limit of 1073741824 bytes", "max_bytes"});
  check_idx_error(idx_file(0x08, {2147483647u, 2147483647u}, {1, 2}),
                  {"dims [2147483647, 2147483647] at byte offset 4 hold more unsigned byte "
                   "elements than fit in memory"});
  TempDir dir;
  const std::string path = (dir / "six.idx").string();
  write_file(path, idx_file(0x08, {2, 3}, {1, 2, 3, 4, 5, 6}));
  // Six elements are 48 bytes as int64, 24 as float32.
  CHECK(data::read_idx(path, kInt64, 48).sizes() == Shape{2, 3});
  check_error({"make 48 bytes of int64", "over the limit of 47 bytes"},
              [&] { data::read_idx(path, kInt64, 47); });
  CHECK(data::read_idx(path, kFloat32, 24).sizes() == Shape{2, 3});
  // A raised limit lets a large promise through, to fail where the data ends.
  check_error({"the file ends at byte offset 4108", "promises 536870912 data bytes"}, [&] {
    write_file(path, idx_file(0x08, {8192, 65536}, Bytes(4096, 0)));
    data::read_idx(path, kFloat32, uint64_t{4} << 30);
  });
}

TEST_CASE("read_idx: reading stops where the promised data ends, trailing bytes are refused") {
  // 256 MiB of zeros after the data: counting them meant inflating them all.
  TempDir dir;
  const std::string path = (dir / "trailing.idx.gz").string();
  gzFile file = gzopen(path.c_str(), "wb1");
  REQUIRE(file != nullptr);
  const Bytes good = idx_file(0x08, {2}, {4, 5});
  REQUIRE(gzwrite(file, good.data(), static_cast<unsigned>(good.size())) ==
          static_cast<int>(good.size()));
  const Bytes zeros(1 << 20, 0);
  for (int i = 0; i < 256; ++i) {
    REQUIRE(gzwrite(file, zeros.data(), static_cast<unsigned>(zeros.size())) ==
            static_cast<int>(zeros.size()));
  }
  REQUIRE(gzclose(file) == Z_OK);
  check_error({"the file goes on after byte offset 10"}, [&] { data::read_idx(path); });
}

TEST_CASE("read_idx: damaged gzip streams") {
  TempDir dir;
  const std::string good_path = (dir / "good.gz").string();
  write_gzip(good_path, idx_file(0x0C, {3, 4}, Bytes(48, 5)));
  const Bytes compressed = read_bytes(good_path);
  const std::string path = (dir / "bad.gz").string();

  // The last 8 bytes of a gzip stream are the CRC-32 and the length of the data; without the
  // length, all 60 bytes of the data come out before zlib notices.
  const std::string prefix = "read_idx: " + path + " (gzip; offsets count decompressed bytes): ";
  for (const size_t cut : {size_t{4}, size_t{12}, compressed.size() / 2}) {
    INFO("without the last ", cut, " bytes");
    write_file(path, Bytes(compressed.begin(), compressed.end() - static_cast<ptrdiff_t>(cut)));
    check_error(
        {prefix + "the compressed data ends early, at byte offset " + (cut == 4 ? "60" : ""),
         "(zlib: unexpected end of file)"},
        [&] { data::read_idx(path); });
  }
  Bytes bad_crc = compressed;
  bad_crc[bad_crc.size() - 8] ^= 0xFF;
  write_file(path, bad_crc);
  check_error({prefix + "corrupt gzip data, found when reading at byte offset",
               "(zlib: incorrect data check)"},
              [&] { data::read_idx(path); });
  check_error({"read_idx: " + (dir / "missing.idx").string(), "cannot open the file"},
              [&] { data::read_idx((dir / "missing.idx").string()); });
}

TEST_CASE("read_idx: random damage never crashes") {
  // Flips random bytes of a small file (plain and gzip) and cuts it at every length: each read
  // either succeeds with the header's dims or throws bg::Error, never anything else (the sanitizer
  // build checks for memory errors).
  TempDir dir;
  const std::string path = (dir / "fuzz").string();
  const Bytes plain = idx_file(0x0B, {2, 3}, encode(idx_cases()[2]));
  write_gzip(path, plain);
  const Bytes compressed = read_bytes(path);
  std::mt19937 random(12345);
  int errors = 0;
  int successes = 0;
  const auto try_read = [&](const Bytes& bytes) {
    write_file(path, bytes);
    try {
      const Tensor x = data::read_idx(path);
      CHECK(x.numel() <= static_cast<int64_t>(plain.size()));  // no data out of thin air
      ++successes;
    } catch (const Error&) {
      ++errors;
    }
  };
  for (const Bytes* original : {&plain, &compressed}) {
    for (size_t length = 0; length < original->size(); ++length) {
      try_read(Bytes(original->begin(), original->begin() + static_cast<ptrdiff_t>(length)));
    }
    for (int trial = 0; trial < 300; ++trial) {
      Bytes damaged = *original;
      const int flips = 1 + static_cast<int>(random() % 3);
      for (int f = 0; f < flips; ++f) {
        damaged[random() % damaged.size()] ^= static_cast<unsigned char>(1 + random() % 255);
      }
      try_read(damaged);
    }
  }
  INFO(errors, " errors, ", successes, " successes");
  CHECK(errors > 300);
  CHECK(successes > 0);  // flips in the data leave a valid file
}

// ---- MNIST and Fashion-MNIST --------------------------------------------------------------------

// Writes a split of `count` 2x2 images (pixel values 0, 85, 170, 255 rotated by the index) and
// labels 0, 1, ... into `dir`.
void write_tiny_mnist(const TempDir& dir, const std::string& prefix, uint32_t count,
                      uint32_t label_count, bool gzip) {
  Bytes pixels;
  Bytes labels;
  for (uint32_t i = 0; i < count; ++i) {
    for (uint32_t p = 0; p < 4; ++p)
      pixels.push_back(static_cast<unsigned char>(85 * ((i + p) % 4)));
  }
  for (uint32_t i = 0; i < label_count; ++i) labels.push_back(static_cast<unsigned char>(i % 10));
  const auto write = gzip ? write_gzip : write_file;
  const std::string suffix = gzip ? ".gz" : "";
  write((dir / (prefix + "-images-idx3-ubyte" + suffix)).string(),
        idx_file(0x08, {count, 2, 2}, pixels));
  write((dir / (prefix + "-labels-idx1-ubyte" + suffix)).string(),
        idx_file(0x08, {label_count}, labels));
}

TEST_CASE("MNIST: images scaled to [0, 1] with a channel dim, int64 labels") {
  for (const bool gzip : {false, true}) {
    INFO((gzip ? "gzip" : "plain"));
    TempDir dir;
    write_tiny_mnist(dir, "train", 3, 3, gzip);
    write_tiny_mnist(dir, "t10k", 2, 2, gzip);
    const data::MNIST train(dir.path().string());
    CHECK(train.size() == 3);
    CHECK(train.data().dtype() == kFloat32);
    CHECK(train.data().sizes() == Shape{3, 1, 2, 2});
    check_close(train.get(1).data, {1 / 3.0, 2 / 3.0, 1, 0}, 1e-7);
    CHECK(train.targets().dtype() == kInt64);
    CHECK(ints(train.targets()) == std::vector<int64_t>{0, 1, 2});
    const data::FashionMNIST test(dir.path().string(), data::Split::Test);  // the same layout
    CHECK(test.data().sizes() == Shape{2, 1, 2, 2});
    check_close(test.get(0).data, {0, 1 / 3.0, 2 / 3.0, 1}, 1e-7);
  }
}

TEST_CASE("MNIST: missing and inconsistent files") {
  TempDir dir;
  check_error({"FashionMNIST: found neither " + (dir / "train-images-idx3-ubyte.gz").string() +
                   " nor " + (dir / "train-images-idx3-ubyte").string(),
               "apt-get install dataset-fashion-mnist"},
              [&] { data::FashionMNIST(dir.path().string()); });
  check_error({"MNIST: found neither " + (dir / "t10k-images-idx3-ubyte.gz").string(),
               "http://yann.lecun.com/exdb/mnist/"},
              [&] { data::MNIST(dir.path().string(), data::Split::Test); });

  write_tiny_mnist(dir, "train", 3, 4, false);
  check_error(
      {"MNIST: " + (dir / "train-labels-idx1-ubyte").string(), "int64[4] on cpu",
       "one label for each of the 3 images in " + (dir / "train-images-idx3-ubyte").string()},
      [&] { data::MNIST(dir.path().string()); });
  write_file((dir / "train-images-idx3-ubyte").string(), idx_file(0x08, {3, 4}, Bytes(12, 0)));
  check_error({"MNIST: " + (dir / "train-images-idx3-ubyte").string(), "float32[3, 4] on cpu",
               "expected images [N, rows, cols]"},
              [&] { data::MNIST(dir.path().string()); });

  // A label outside the 10 classes would index out of range in a loss later.
  write_tiny_mnist(dir, "train", 3, 3, false);
  write_file((dir / "train-labels-idx1-ubyte").string(), idx_file(0x08, {3}, {1, 2, 10}));
  check_error({"MNIST: " + (dir / "train-labels-idx1-ubyte").string(),
               "label 2 is 10, outside the 10 classes 0-9"},
              [&] { data::MNIST(dir.path().string()); });
}

// Label counts and pixel sums computed from the files by Python:
//   im = gzip.open(d + 'train-images-idx3-ubyte.gz').read()[16:]; sum(im[:784]); sum(im)
//   lb = gzip.open(d + 'train-labels-idx1-ubyte.gz').read()[8:]; list(lb[:10])
// The sum of the byte values (0-255) of images scaled to [0, 1], exactly.
int64_t pixel_sum(const Tensor& images) {
  return (images.to(kFloat64) * 255 + 0.5).to(kInt64).sum().item<int64_t>();
}

TEST_CASE("FashionMNIST: the files of Debian's dataset-fashion-mnist package") {
  if (!std::filesystem::exists(data::FashionMNIST::kDefaultRoot)) {
    MESSAGE("skipped: ", data::FashionMNIST::kDefaultRoot,
            " is missing (apt-get install dataset-fashion-mnist)");
    return;
  }
  const auto check_split = [](const data::FashionMNIST& split, int64_t n,
                              const std::vector<int64_t>& first_labels, int64_t first_image_sum) {
    CHECK(split.data().sizes() == Shape{n, 1, 28, 28});
    CHECK(split.data().dtype() == kFloat32);
    CHECK(split.data().min().item<float>() == 0.0f);
    CHECK(split.data().max().item<float>() == 1.0f);
    CHECK(split.targets().sizes() == Shape{n});
    CHECK(split.targets().dtype() == kInt64);
    REQUIRE(split.targets().min().item<int64_t>() == 0);
    REQUIRE(split.targets().max().item<int64_t>() == 9);
    const std::vector<int64_t> labels = ints(split.targets());
    CHECK(std::vector<int64_t>(labels.begin(), labels.begin() + 10) == first_labels);
    std::vector<int64_t> counts(10, 0);
    for (int64_t label : labels) ++counts[static_cast<size_t>(label)];
    CHECK(counts == std::vector<int64_t>(10, n / 10));  // both splits are balanced
    CHECK(pixel_sum(split.get(0).data) == first_image_sum);
  };
  check_split(data::FashionMNIST(data::Split::Train), 60000, {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, 76247);
  const data::FashionMNIST test(data::Split::Test);
  check_split(test, 10000, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}, 33456);
  CHECK(pixel_sum(test.data()) == 573469082);
}

// ---- CSV ----------------------------------------------------------------------------------------

TEST_CASE("read_csv: header names, numbers, padding, quotes, blank lines and CRLF") {
  TempDir dir;
  const std::string path = (dir / "table.csv").string();
  write_text(path,
             "\xEF\xBB\xBF"
             "x, \"y, in \"\"m\"\"\" ,z\r\n"
             "\r\n"
             "1, 2.5 ,-3e2\r\n"
             "   \n"
             "+4,\"0.1\",nan\n"
             "-0.5,1e-3,  -inf\n"
             "1e-400,-1e-400,1e-50");  // too small for the dtype: 0; no final line break
  const data::CsvTable table = data::read_csv(path);
  CHECK(table.columns == std::vector<std::string>{"x", "y, in \"m\"", "z"});
  CHECK(table.values.dtype() == kFloat32);
  CHECK(table.values.sizes() == Shape{4, 3});
  check_close(table.values, {1, 2.5, -300, 4, 0.1f, test::kNaN, -0.5, 1e-3f, -test::kInf, 0, 0, 0},
              0);

  const data::CsvTable doubles = data::read_csv(path, data::CsvOptions().dtype(kFloat64));
  CHECK(doubles.values.dtype() == kFloat64);
  CHECK(values(doubles.values)[4] == 0.1);  // parsed as float64, not through float32
  CHECK(values(doubles.values)[11] == 1e-50);
}

TEST_CASE("read_csv: lines end with \\n, \\r\\n or \\r alone (old Mac files)") {
  TempDir dir;
  const std::string path = (dir / "table.csv").string();
  for (const std::string end : {"\n", "\r\n", "\r"}) {
    INFO("line end ", end == "\r" ? "CR" : end == "\n" ? "LF" : "CRLF");
    write_text(path, "a,b" + end + "1,2" + end + end + "3,4" + end);
    const data::CsvTable table = data::read_csv(path);
    CHECK(table.columns == std::vector<std::string>{"a", "b"});
    check_close(table.values, {1, 2, 3, 4}, 0);
    // Line numbers in messages count each kind of line break once.
    write_text(path, "a,b" + end + "1,2" + end + end + "3,x" + end);
    check_error({"line 4, column 2"}, [&] { data::read_csv(path); });
  }
}

TEST_CASE("read_csv: skip_rows skips the lines before the header (sklearn's counts)") {
  TempDir dir;
  const std::string path = (dir / "boston.csv").string();
  // The first lines of scikit-learn's boston_house_prices.csv: the sample and feature counts.
  write_text(path, "2,3,,\nCRIM,ZN,INDUS,MEDV\n0.00632,18,2.31,24\n0.02731,0,7.07,21.6\n");
  const data::CsvTable table = data::read_csv(path, data::CsvOptions().skip_rows(1));
  CHECK(table.columns == std::vector<std::string>{"CRIM", "ZN", "INDUS", "MEDV"});
  CHECK(table.values.sizes() == Shape{2, 4});
  check_close(table.column("MEDV"), {24, 21.6}, 1e-6);
  // Without it, the counts are the header and the names a row of non-numbers.
  check_error({"line 2, column 1", "\"CRIM\" is not a number"}, [&] { data::read_csv(path); });
  check_error({"read_csv", "skip_rows", "-1"},
              [&] { data::read_csv(path, data::CsvOptions().skip_rows(-1)); });
  check_error({"no header row"}, [&] { data::read_csv(path, data::CsvOptions().skip_rows(4)); });
}

TEST_CASE("read_csv: other delimiters, a header without rows") {
  TempDir dir;
  const std::string path = (dir / "table.tsv").string();
  write_text(path, "a\tb\n1\t2\n3\t4\n");
  const data::CsvTable tabs = data::read_csv(path, data::CsvOptions().delimiter('\t'));
  CHECK(tabs.columns == std::vector<std::string>{"a", "b"});
  CHECK(values(tabs.values) == std::vector<double>{1, 2, 3, 4});

  write_text(path, "a;b;c\n");
  const data::CsvTable empty = data::read_csv(path, data::CsvOptions().delimiter(';'));
  CHECK(empty.columns.size() == 3);
  CHECK(empty.values.sizes() == Shape{0, 3});
}

TEST_CASE("read_csv: only the columns asked for, in their order; the others may hold text") {
  TempDir dir;
  const std::string path = (dir / "weather.csv").string();
  write_text(path,
             "date,precipitation,temp_max,weather\n"
             "2012/01/01,0.0,12.8,drizzle\n"
             "2012/01/02,10.9,10.6,rain\n");
  const data::CsvTable table =
      data::read_csv(path, data::CsvOptions().columns({"temp_max", "precipitation"}));
  CHECK(table.columns == std::vector<std::string>{"temp_max", "precipitation"});
  check_close(table.values, {12.8, 0.0, 10.6, 10.9}, 1e-6);
  check_error({"no column is named \"wind\"", "\"date\", \"precipitation\""},
              [&] { data::read_csv(path, data::CsvOptions().columns({"wind"})); });
  // The text columns are still fields: a ragged row is an error.
  write_text(path, "date,t\n2012/01/01\n");
  check_error({"read_csv", "line 2", "the row ends after 1 fields"},
              [&] { data::read_csv(path, data::CsvOptions().columns({"t"})); });
}

TEST_CASE("CsvTable: columns by name, features and target") {
  TempDir dir;
  const std::string path = (dir / "houses.csv").string();
  write_text(path, "rooms,area,price\n3,70,300\n5,120,510\n");
  const data::CsvTable table = data::read_csv(path);
  CHECK(table.column_index("area") == 1);
  CHECK(values(table.column("price")) == std::vector<double>{300, 510});
  const auto [features, price] = table.split_target("area");
  CHECK(features.sizes() == Shape{2, 2});
  CHECK(values(features) == std::vector<double>{3, 300, 5, 510});
  CHECK(values(price) == std::vector<double>{70, 120});

  check_error(
      {"CsvTable", "no column is named \"size\"", "the columns are \"rooms\", \"area\", \"price\""},
      [&] { table.column("size"); });
  write_text(path, "a,b,a\n1,2,3\n");
  check_error({"CsvTable", "the column name \"a\" is ambiguous",
               "the columns at positions 0 and 2 have it"},
              [&] { data::read_csv(path).split_target("a"); });
}

TEST_CASE("read_csv: errors name the file, the line and the column") {
  TempDir dir;
  const std::string path = (dir / "bad.csv").string();
  const auto check_csv_error = [&](const std::string& text, const std::string& message) {
    write_text(path, text);
    check_error({"read_csv: " + path + ", " + message}, [&] { data::read_csv(path); });
  };
  check_csv_error("a,b,c\n1,2,3\n\n4,5\n",
                  "line 4, column 3: the row ends after 2 fields, but the header has 3 columns");
  check_csv_error("a,b\n1,2,3\n",
                  "line 2, column 3: the row has 3 fields, but the header has only 2 columns");
  check_csv_error("a,b\n1,2,\n",
                  "line 2, column 3: the row has 3 fields, but the header has only 2 columns");
  check_csv_error("a,b\n1,2\n1,abc\n", "line 3, column 2 (\"b\"): \"abc\" is not a number");
  check_csv_error("a,b\n1,2x\n", "line 2, column 2 (\"b\"): \"2x\" is not a number");
  check_csv_error("a,b\n1, \n", "line 2, column 2 (\"b\"): empty field");
  check_csv_error("a,b\n++1,2\n", "line 2, column 1 (\"a\"): \"++1\" is not a number");
  check_csv_error("a,\"b\n1,2\n", "line 1, column 2: the quoted field has no closing quote");
  check_csv_error("a,\"b\"c\n1,2\n", "line 1, column 2: unexpected 'c' after the closing quote");
  check_csv_error("a\n1e39\n", "line 2, column 1 (\"a\"): \"1e39\" is out of the range of float32");
  check_csv_error("a\n1e999\n",
                  "line 2, column 1 (\"a\"): \"1e999\" is out of the range of float32");

  write_text(path, "\n  \n");
  check_error({"read_csv: " + path + ": no header row"}, [&] { data::read_csv(path); });
  check_error({"read_csv: " + (dir / "missing.csv").string(), "cannot open the file"},
              [&] { data::read_csv((dir / "missing.csv").string()); });
  check_error({"read_csv", "dtype must be float32 or float64, got int64"},
              [&] { data::read_csv(path, data::CsvOptions().dtype(kInt64)); });
  check_error({"read_csv", "the delimiter cannot be a quote"},
              [&] { data::read_csv(path, data::CsvOptions().delimiter('"')); });
}

}  // namespace
}  // namespace bg
