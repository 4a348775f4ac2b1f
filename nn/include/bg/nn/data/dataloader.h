#pragma once
// DataLoader: batches of a dataset, in order or shuffled, for a range-for loop.
//
//   data::DataLoader loader(dataset,
//   data::DataLoaderOptions().batch_size(64).shuffle(true).seed(0)); for (int epoch = 0; epoch <
//   10; ++epoch) {
//     for (const data::Example& batch : loader) {   // each range-for is one epoch
//       Tensor loss = loss_fn(model->forward(batch.data), batch.target);
//       ...
//     }
//   }
//
// Batches are loaded in the calling thread, one at a time, when the loop reaches them.

#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <vector>

#include "bg/core/api.h"
#include "bg/nn/data/dataset.h"
#include "bg/nn/data/sampler.h"
#include "bg/nn/options.h"

BG_API_BEGIN

namespace bg::data {

struct DataLoaderOptions {
  DataLoaderOptions() = default;
  /// LibTorch's shorthand for DataLoaderOptions().batch_size(batch_size).
  explicit DataLoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}

  /// Examples per batch (PyTorch's default is 1).
  BG_ARG(int64_t, batch_size) = 1;
  /// Visits the examples in a new random order every epoch.
  BG_ARG(bool, shuffle) = false;
  /// Skips the last batch when it would be smaller than batch_size.
  BG_ARG(bool, drop_last) = false;
  /// Seeds the loader's own shuffling generator; when unset, the seed is drawn from the default
  /// generator when the loader is made (so bg::manual_seed makes it reproducible too).
  BG_ARG(std::optional<uint64_t>, seed);
  /// Takes each epoch's indices from this sampler instead (e.g. a data::DistributedSampler);
  /// exclusive with shuffle.
  BG_ARG(std::shared_ptr<Sampler>, sampler);
};

/// Iterates over a dataset in batches; each begin() (each range-for) starts a new epoch.
class DataLoader {
 public:
  /// The batches of one epoch; an input iterator (a batch is loaded when the iterator reaches it).
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Example;
    using difference_type = std::ptrdiff_t;
    using pointer = const Example*;
    using reference = const Example&;

    /// The current batch.
    const Example& operator*() const;
    const Example* operator->() const { return &**this; }
    /// Moves to the next batch and loads it.
    Iterator& operator++();
    /// Iterators of the same epoch are equal when they are at the same batch.
    bool operator==(const Iterator& other) const { return batch_ == other.batch_; }

   private:
    friend class DataLoader;
    Iterator(const DataLoader* loader, std::shared_ptr<const std::vector<int64_t>> order,
             int64_t batch);
    void load();

    const DataLoader* loader_ = nullptr;
    std::shared_ptr<const std::vector<int64_t>> order_;  // the epoch's order of example indices
    int64_t batch_ = 0;
    Example current_;
  };

  /// Batches of `dataset`; throws if it is null or empty, or if batch_size is not positive.
  DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options = {});

  /// Starts a new epoch (drawing a new order when shuffling) at its first batch.
  Iterator begin();
  /// Past the last batch of an epoch.
  Iterator end() const;

  /// The number of examples one epoch visits: the dataset's (or the sampler's) size, less the
  /// dropped partial batch.
  int64_t size() const;
  /// The number of batches per epoch (PyTorch's len(loader)).
  int64_t num_batches() const;

  /// The dataset and the options the loader was made with.
  const std::shared_ptr<Dataset>& dataset() const { return dataset_; }
  const DataLoaderOptions& options() const { return options_; }
  /// The shuffling generator: save and restore its state to replay the same epochs.
  Generator& generator() { return generator_; }

 private:
  int64_t epoch_size() const;

  std::shared_ptr<Dataset> dataset_;
  DataLoaderOptions options_;
  Generator generator_;
};

}  // namespace bg::data

BG_API_END
