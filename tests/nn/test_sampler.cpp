// DataLoader with a sampler: the sampler decides which examples an epoch visits.

#include <bg/nn/data.h>

#include <vector>

#include "test_util.h"

using namespace bg;
using namespace bg::test;

namespace {

// Visits the examples in reverse, then every other one: a new list each epoch.
class ReverseThenEvens : public data::Sampler {
 public:
  std::vector<int64_t> next_epoch() override {
    return epoch_++ == 0 ? std::vector<int64_t>{4, 3, 2} : std::vector<int64_t>{0, 2, 4};
  }
  int64_t size() const override { return 3; }

 private:
  int epoch_ = 0;
};

}  // namespace

TEST_CASE("a DataLoader with a sampler takes each epoch's indices from it") {
  auto dataset = std::make_shared<data::TensorDataset>(arange(5, kFloat64));
  data::DataLoader loader(dataset,
                          data::DataLoaderOptions(2).sampler(std::make_shared<ReverseThenEvens>()));
  CHECK(loader.size() == 3);
  CHECK(loader.num_batches() == 2);
  std::vector<double> first, second;
  for (const data::Example& batch : loader)
    for (double v : values(batch.data)) first.push_back(v);
  for (const data::Example& batch : loader)
    for (double v : values(batch.data)) second.push_back(v);
  CHECK(first == std::vector<double>{4, 3, 2});
  CHECK(second == std::vector<double>{0, 2, 4});
}

TEST_CASE("a DataLoader refuses shuffle together with a sampler") {
  auto dataset = std::make_shared<data::TensorDataset>(arange(5, kFloat64));
  CHECK_THROWS_WITH_AS(data::DataLoader(dataset, data::DataLoaderOptions(2).shuffle(true).sampler(
                                                     std::make_shared<ReverseThenEvens>())),
                       doctest::Contains("shuffle and sampler are exclusive"), Error);
}

TEST_CASE("random_permutation is a permutation, reproducible from the generator's seed") {
  Generator a(7), b(7);
  std::vector<int64_t> p = data::random_permutation(100, a);
  CHECK(p == data::random_permutation(100, b));
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);
  CHECK(p != sorted);
}
