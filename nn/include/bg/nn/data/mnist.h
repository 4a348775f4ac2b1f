#pragma once
// MNIST and Fashion-MNIST: 28x28 grayscale images with labels 0-9, read from the four IDX files
// of their distribution (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
// t10k-labels-idx1-ubyte), gzip-compressed (".gz") or not.
//
//   auto train = std::make_shared<data::FashionMNIST>(data::Split::Train);
//   data::DataLoader loader(train, data::DataLoaderOptions().batch_size(64).shuffle(true));

#include <string>

#include "bg/core/api.h"
#include "bg/nn/data/dataset.h"

BG_API_BEGIN

namespace bg::data {

/// Which part of a dataset to load.
enum class Split { Train, Test };

/// MNIST's handwritten digits from the directory `root`: data float32 [N, 1, 28, 28] scaled to
/// [0, 1], targets int64 [N] (N = 60000 for Train, 10000 for Test).
class MNIST : public TensorDataset {
 public:
  explicit MNIST(const std::string& root, Split split = Split::Train);
};

/// Zalando's Fashion-MNIST (clothing in 10 classes), laid out as MNIST.
class FashionMNIST : public TensorDataset {
 public:
  /// Where Debian's dataset-fashion-mnist package installs the files.
  static constexpr const char* kDefaultRoot = "/usr/share/datasets/fashion-mnist";

  /// The split from kDefaultRoot.
  explicit FashionMNIST(Split split = Split::Train) : FashionMNIST(kDefaultRoot, split) {}
  /// The split from the directory `root`.
  explicit FashionMNIST(const std::string& root, Split split = Split::Train);
};

}  // namespace bg::data

BG_API_END
