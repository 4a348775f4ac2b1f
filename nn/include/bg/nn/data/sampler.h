#pragma once
// Samplers: which examples an epoch visits, in which order, for a DataLoader that is given one
// (DataLoaderOptions::sampler), as PyTorch's DataLoader(sampler=...). The distributed sampler,
// which gives each process its own share, is bg::data::DistributedSampler in bg/dist/sampler.h.

#include <cstdint>
#include <vector>

#include "bg/core/api.h"
#include "bg/core/random.h"

BG_API_BEGIN

namespace bg::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  /// The dataset indices of the next epoch, in the order they are visited (called once per epoch).
  virtual std::vector<int64_t> next_epoch() = 0;
  /// How many indices every epoch has.
  virtual int64_t size() const = 0;
};

/// 0, 1, ..., n - 1 in a uniformly random order drawn from `generator` (Fisher-Yates).
std::vector<int64_t> random_permutation(int64_t n, Generator& generator);

}  // namespace bg::data

BG_API_END
