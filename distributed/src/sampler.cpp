#include "bg/dist/sampler.h"

#include <numeric>

#include "bg/core/error.h"
#include "bg/dist/process.h"

namespace bg::data {

DistributedSampler::DistributedSampler(int64_t dataset_size, DistributedSamplerOptions options)
    : dataset_size_(dataset_size),
      num_replicas_(options.num_replicas() ? *options.num_replicas() : dist::world_size()),
      rank_(options.rank() ? *options.rank() : dist::rank()),
      options_(options) {
  BG_CHECK(dataset_size_ > 0, "DistributedSampler", "the dataset is empty");
  BG_CHECK(num_replicas_ > 0, "DistributedSampler", "num_replicas must be positive, got ",
           num_replicas_);
  BG_CHECK(rank_ >= 0 && rank_ < num_replicas_, "DistributedSampler", "rank ", rank_,
           " is not in [0, ", num_replicas_, ")");
  BG_CHECK(!options_.drop_last() || dataset_size_ >= num_replicas_, "DistributedSampler",
           "with drop_last, ", dataset_size_, " examples leave nothing for ", num_replicas_,
           " ranks");
  share_size_ = options_.drop_last() ? dataset_size_ / num_replicas_
                                     : (dataset_size_ + num_replicas_ - 1) / num_replicas_;
}

std::vector<int64_t> DistributedSampler::next_epoch() {
  std::vector<int64_t> order;
  if (options_.shuffle()) {
    // (seed, epoch) -> one permutation, the same on every rank.
    Generator generator(options_.seed() + static_cast<uint64_t>(epoch_));
    order = random_permutation(dataset_size_, generator);
  } else {
    order.resize(static_cast<size_t>(dataset_size_));
    std::iota(order.begin(), order.end(), int64_t{0});
  }
  ++epoch_;
  // Pad (repeating the order from its start, as often as needed) or cut to R shares of equal size.
  const auto total = static_cast<size_t>(share_size_ * num_replicas_);
  const auto n = static_cast<size_t>(dataset_size_);
  for (size_t i = n; i < total; ++i) order.push_back(order[i % n]);
  order.resize(total);
  std::vector<int64_t> share;
  share.reserve(static_cast<size_t>(share_size_));
  for (size_t i = static_cast<size_t>(rank_); i < total; i += static_cast<size_t>(num_replicas_))
    share.push_back(order[i]);
  return share;
}

}  // namespace bg::data
