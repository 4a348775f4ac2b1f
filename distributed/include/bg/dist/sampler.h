#pragma once
// DistributedSampler: each rank's own share of a dataset, for its DataLoader (PyTorch's
// torch.utils.data.DistributedSampler).
//
//   auto sampler = std::make_shared<data::DistributedSampler>(train->size(),
//       data::DistributedSamplerOptions().seed(0));
//   data::DataLoader loader(train, data::DataLoaderOptions(32).sampler(sampler));
//   for (int epoch = 0; epoch < epochs; ++epoch)
//     for (const data::Example& batch : loader) { ... }   // each loop is the next epoch
//
// Every epoch, all ranks draw the same permutation of the N indices from (seed, epoch), pad it
// by repeating its first indices up to a multiple of the world size R (or, with drop_last, cut
// it down to one), and rank r takes every R-th index starting at r. So the shares of an epoch are
// disjoint (but for the padding), cover the dataset, have equal sizes (every rank takes the same
// number of steps, which DataParallel needs), and change from epoch to epoch.

#include <cstdint>
#include <optional>
#include <vector>

#include "bg/core/api.h"
#include "bg/nn/data/sampler.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::data {

struct DistributedSamplerOptions {
  /// The number of shares (default: bg::dist::world_size()).
  BG_ARG(std::optional<int>, num_replicas);
  /// This process's share (default: bg::dist::rank()).
  BG_ARG(std::optional<int>, rank);
  /// A new random order every epoch; otherwise 0, 1, ..., N - 1 dealt out in turn.
  BG_ARG(bool, shuffle) = true;
  /// The seed of the shuffling, which must be the same on every rank.
  BG_ARG(uint64_t, seed) = 0;
  /// Drops the tail that does not divide evenly instead of padding it with repeated examples.
  BG_ARG(bool, drop_last) = false;
};

class DistributedSampler : public Sampler {
 public:
  /// The share of this rank of a dataset of `dataset_size` examples.
  explicit DistributedSampler(int64_t dataset_size, DistributedSamplerOptions options = {});

  /// This rank's indices for the current epoch; the epoch then advances by one.
  std::vector<int64_t> next_epoch() override;
  /// The number of indices per epoch, the same on every rank.
  int64_t size() const override { return share_size_; }

  /// Makes the next epoch `epoch` (to resume a run from a checkpoint at that epoch).
  void set_epoch(int64_t epoch) { epoch_ = epoch; }
  /// The epoch next_epoch() will return.
  int64_t epoch() const { return epoch_; }

 private:
  int64_t dataset_size_;
  int num_replicas_;
  int rank_;
  DistributedSamplerOptions options_;
  int64_t share_size_;
  int64_t epoch_ = 0;
};

}  // namespace bg::data

BG_API_END
