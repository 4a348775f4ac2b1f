// DistributedSampler: disjoint, equal shares covering the dataset, reshuffled every epoch.

#include <bg/dist.h>
#include <bg/nn/data.h>

#include <algorithm>
#include <set>

#include "test_util.h"

using namespace bg;
using namespace bg::test;

namespace {
std::vector<int64_t> share_of(int64_t n, int replicas, int rank, data::DistributedSamplerOptions o,
                              int64_t epoch = 0) {
  data::DistributedSampler sampler(n, o.num_replicas(replicas).rank(rank));
  sampler.set_epoch(epoch);
  return sampler.next_epoch();
}
}  // namespace

TEST_CASE("DistributedSampler: the shares are disjoint, equal, and cover the dataset") {
  for (int replicas : {1, 2, 3, 8}) {
    std::multiset<int64_t> all;
    for (int r = 0; r < replicas; ++r) {
      std::vector<int64_t> mine = share_of(20, replicas, r, {});
      CHECK(static_cast<int64_t>(mine.size()) == (20 + replicas - 1) / replicas);
      all.insert(mine.begin(), mine.end());
    }
    // Padding repeats the first indices of the order, just enough for equal shares.
    CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 20);
    CHECK(static_cast<int64_t>(all.size()) == (20 + replicas - 1) / replicas * replicas);
  }
}

TEST_CASE("DistributedSampler: without shuffle, indices are dealt out in turn; drop_last cuts") {
  data::DistributedSamplerOptions plain;
  plain.shuffle(false);
  CHECK(share_of(5, 2, 0, plain) == std::vector<int64_t>{0, 2, 4});
  CHECK(share_of(5, 2, 1, plain) == std::vector<int64_t>{1, 3, 0});  // 0 pads the last share
  plain.drop_last(true);
  CHECK(share_of(5, 2, 1, plain) == std::vector<int64_t>{1, 3});
}

TEST_CASE("DistributedSampler: each epoch is a new order, the same on every rank for one seed") {
  data::DistributedSamplerOptions o;
  o.seed(5);
  CHECK(share_of(100, 2, 0, o, 0) != share_of(100, 2, 0, o, 1));
  CHECK(share_of(100, 2, 0, o, 3) == share_of(100, 2, 0, o, 3));
  data::DistributedSampler sampler(100, o.num_replicas(2).rank(0));
  sampler.next_epoch();
  CHECK(sampler.epoch() == 1);  // next_epoch advances
  // Across the two real ranks of this job: one seed, disjoint shares of the same permutation.
  data::DistributedSampler mine(100, data::DistributedSamplerOptions().seed(5));
  Tensor share = tensor(mine.next_epoch(), {50});
  Tensor both = dist::all_gather(share);
  std::vector<int64_t> all = ints(both);
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 100; ++i) CHECK(all[static_cast<size_t>(i)] == i);
}

TEST_CASE("a DataLoader over a DistributedSampler gives every rank the same number of batches") {
  auto dataset = std::make_shared<data::TensorDataset>(arange(7, kFloat64));
  auto sampler = std::make_shared<data::DistributedSampler>(dataset->size());
  data::DataLoader loader(dataset, data::DataLoaderOptions(2).sampler(sampler));
  CHECK(loader.size() == 4);  // 7 examples padded to 8, 4 per rank
  std::vector<int64_t> sizes;
  for (const data::Example& batch : loader) sizes.push_back(batch.data.numel());
  CHECK(sizes == std::vector<int64_t>{2, 2});
}
