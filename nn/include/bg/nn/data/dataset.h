#pragma once
// Datasets: indexable collections of (data, target) examples, as LibTorch's torch::data.
//
//   auto train = std::make_shared<data::TensorDataset>(images, labels);
//   data::Example first = train->get(0);   // images[0], labels[0]

#include <cstdint>
#include <vector>

#include "bg/core.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::data {

/// One example (or a batch of examples stacked along a new first dim). `target` is undefined for
/// datasets without targets.
struct Example {
  Tensor data;
  Tensor target;
};

/// A collection of `size()` examples that can be read in any order.
class Dataset {
 public:
  virtual ~Dataset() = default;

  /// The number of examples.
  virtual int64_t size() const = 0;
  /// The example at `index`, in [0, size()).
  virtual Example get(int64_t index) const = 0;
  /// The examples at `indices` stacked along a new first dim. The default stacks get(i) one by
  /// one; datasets that can gather a batch at once (TensorDataset) override it.
  virtual Example get_batch(const std::vector<int64_t>& indices) const;
};

/// Examples are the slices of `data` (and `targets`) along their first dim, as PyTorch's
/// TensorDataset: example i is {data[i], targets[i]}.
class TensorDataset : public Dataset {
 public:
  /// `targets` may be undefined (a dataset without targets); else its first dim must match data's.
  explicit TensorDataset(Tensor data, Tensor targets = {});

  int64_t size() const override;
  /// Views of data[index] and targets[index].
  Example get(int64_t index) const override;
  /// One index_select per tensor (no per-example stacking).
  Example get_batch(const std::vector<int64_t>& indices) const override;

  /// All examples' data, [size(), ...].
  const Tensor& data() const { return data_; }
  /// All examples' targets, [size(), ...]; undefined when the dataset has no targets.
  const Tensor& targets() const { return targets_; }

 private:
  Tensor data_;
  Tensor targets_;
};

}  // namespace bg::data

BG_API_END
