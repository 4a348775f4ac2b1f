#include "bg/nn/data/dataloader.h"

#include <algorithm>
#include <numeric>
#include <utility>

namespace bg::data {
namespace {

// A 64-bit word from half of a Philox block.
uint64_t word_of(const std::array<uint32_t, 4>& block, int half) {
  return uint64_t{block[2 * half + 1]} << 32 | block[2 * half];
}

// A seed for a loader whose options set none: the next word of the default generator.
uint64_t seed_from_default_generator() {
  Generator& generator = default_generator();
  return word_of(philox4x32(generator.reserve(1), generator.seed()), 0);
}

}  // namespace

// 0, 1, ..., n-1 shuffled by Fisher-Yates: position i swaps with a uniform j in [0, i]. Each swap
// uses one 64-bit word (two per Philox block), mapped to [0, i] by Lemire's multiply-shift, whose
// bias (at most (i + 1) / 2^64) is negligible.
std::vector<int64_t> random_permutation(int64_t n, Generator& generator) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (n < 2) return order;
  const uint64_t swaps = static_cast<uint64_t>(n) - 1;
  const uint64_t first_block = generator.reserve((swaps + 1) / 2);
  std::array<uint32_t, 4> block{};
  for (uint64_t k = 0; k < swaps; ++k) {
    if (k % 2 == 0) block = philox4x32(first_block + k / 2, generator.seed());
    const uint64_t bound = swaps - k + 1;  // i + 1 for i = n - 1 - k
    const auto j = static_cast<size_t>(
        (static_cast<unsigned __int128>(word_of(block, static_cast<int>(k % 2))) * bound) >> 64);
    std::swap(order[swaps - k], order[j]);
  }
  return order;
}

DataLoader::DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  BG_CHECK(dataset_ != nullptr, "DataLoader", "the dataset is null");
  BG_CHECK(options_.batch_size() > 0, "DataLoader", "batch_size must be positive, got ",
           options_.batch_size());
  BG_CHECK(dataset_->size() > 0, "DataLoader", "the dataset is empty");
  BG_CHECK(!(options_.sampler() && options_.shuffle()), "DataLoader",
           "shuffle and sampler are exclusive: the sampler decides the order");
  // Not value_or: the default generator must only advance when it provides the seed.
  generator_.manual_seed(options_.seed() ? *options_.seed() : seed_from_default_generator());
}

int64_t DataLoader::num_batches() const {
  const int64_t n = epoch_size();
  const int64_t batch_size = options_.batch_size();
  return options_.drop_last() ? n / batch_size : (n + batch_size - 1) / batch_size;
}

int64_t DataLoader::size() const {
  return options_.drop_last() ? num_batches() * options_.batch_size() : epoch_size();
}

int64_t DataLoader::epoch_size() const {
  return options_.sampler() ? options_.sampler()->size() : dataset_->size();
}

DataLoader::Iterator DataLoader::begin() {
  const int64_t n = dataset_->size();
  auto order = std::make_shared<std::vector<int64_t>>(static_cast<size_t>(n));
  if (options_.sampler()) {
    *order = options_.sampler()->next_epoch();
    BG_CHECK(static_cast<int64_t>(order->size()) == epoch_size(), "DataLoader", "the sampler gave ",
             order->size(), " indices for an epoch of ", epoch_size());
  } else if (options_.shuffle()) {
    *order = random_permutation(n, generator_);
  } else {
    std::iota(order->begin(), order->end(), int64_t{0});
  }
  return Iterator(this, std::move(order), 0);
}

DataLoader::Iterator DataLoader::end() const { return Iterator(this, nullptr, num_batches()); }

DataLoader::Iterator::Iterator(const DataLoader* loader,
                               std::shared_ptr<const std::vector<int64_t>> order, int64_t batch)
    : loader_(loader), order_(std::move(order)), batch_(batch) {
  if (order_ != nullptr && batch_ < loader_->num_batches()) load();
}

void DataLoader::Iterator::load() {
  const int64_t batch_size = loader_->options_.batch_size();
  const auto start = static_cast<size_t>(batch_ * batch_size);
  const size_t stop = std::min(start + static_cast<size_t>(batch_size), order_->size());
  current_ = loader_->dataset_->get_batch(
      std::vector<int64_t>(order_->begin() + static_cast<std::ptrdiff_t>(start),
                           order_->begin() + static_cast<std::ptrdiff_t>(stop)));
}

const Example& DataLoader::Iterator::operator*() const {
  BG_CHECK(order_ != nullptr && batch_ < loader_->num_batches(), "DataLoader",
           "dereferenced an iterator that is past the last batch");
  return current_;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  BG_CHECK(order_ != nullptr && batch_ < loader_->num_batches(), "DataLoader",
           "incremented an iterator that is past the last batch");
  ++batch_;
  if (batch_ < loader_->num_batches()) load();
  return *this;
}

}  // namespace bg::data
