#include "bg/nn/data/dataset.h"

#include <utility>

namespace bg::data {
namespace {

void check_index(const char* op, int64_t index, int64_t size) {
  BG_CHECK(index >= 0 && index < size, op, "index ", index, " is out of range for a dataset of ",
           size, " examples");
}

}  // namespace

Example Dataset::get_batch(const std::vector<int64_t>& indices) const {
  BG_CHECK(!indices.empty(), "Dataset::get_batch", "a batch needs at least one index");
  const int64_t n = size();
  std::vector<Tensor> data;
  std::vector<Tensor> targets;
  for (int64_t index : indices) {
    check_index("Dataset::get_batch", index, n);
    Example example = get(index);
    data.push_back(std::move(example.data));
    if (example.target.defined()) targets.push_back(std::move(example.target));
  }
  BG_CHECK(targets.empty() || targets.size() == data.size(), "Dataset::get_batch", "only ",
           targets.size(), " of the ", data.size(), " examples have a target");
  return {stack(data), targets.empty() ? Tensor() : stack(targets)};
}

TensorDataset::TensorDataset(Tensor data, Tensor targets)
    : data_(std::move(data)), targets_(std::move(targets)) {
  BG_CHECK(data_.defined() && data_.dim() >= 1, "TensorDataset",
           "data must have a first dim that indexes the examples, got ",
           data_.defined() ? describe(data_) : "an undefined tensor");
  if (targets_.defined()) {
    BG_CHECK(targets_.dim() >= 1 && targets_.size(0) == data_.size(0), "TensorDataset",
             "data and targets must have the same size in their first dim (the examples), got ",
             describe(data_), " and ", describe(targets_));
  }
}

int64_t TensorDataset::size() const { return data_.size(0); }

Example TensorDataset::get(int64_t index) const {
  check_index("TensorDataset::get", index, size());
  return {data_.select(0, index), targets_.defined() ? targets_.select(0, index) : Tensor()};
}

Example TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  for (int64_t index : indices) check_index("TensorDataset::get_batch", index, size());
  // The row numbers live where the data does (a dataset may be held on a GPU).
  const Tensor rows = tensor(indices, {static_cast<int64_t>(indices.size())},
                             TensorOptions(kInt64).device(data_.device()));
  return {data_.index_select(0, rows),
          targets_.defined() ? targets_.index_select(0, rows) : Tensor()};
}

}  // namespace bg::data
