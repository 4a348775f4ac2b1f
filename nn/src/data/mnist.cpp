#include "bg/nn/data/mnist.h"

#include <filesystem>

#include "bg/nn/data/idx.h"

namespace bg::data {
namespace {

// Both datasets have 10 classes: digits, or kinds of clothing.
constexpr int64_t kClasses = 10;

// `root`/`name`.gz, else `root`/`name`; throws naming both paths and how to get the files.
std::string find_file(const char* dataset, const std::string& root, const std::string& name,
                      const char* how_to_get) {
  const std::filesystem::path plain = std::filesystem::path(root) / name;
  const std::filesystem::path gzip = std::filesystem::path(root) / (name + ".gz");
  if (std::filesystem::is_regular_file(gzip)) return gzip.string();
  if (std::filesystem::is_regular_file(plain)) return plain.string();
  throw Error(detail::concat(dataset, ": found neither ", gzip.string(), " nor ", plain.string(),
                             "; ", how_to_get));
}

// Images [N, 1, rows, cols] scaled to [0, 1] and labels [N] from the split's two IDX files.
TensorDataset load(const char* dataset, const std::string& root, Split split,
                   const char* how_to_get) {
  const std::string prefix = split == Split::Train ? "train" : "t10k";
  const std::string images_path =
      find_file(dataset, root, prefix + "-images-idx3-ubyte", how_to_get);
  const std::string labels_path =
      find_file(dataset, root, prefix + "-labels-idx1-ubyte", how_to_get);
  Tensor images = read_idx(images_path, kFloat32);
  const Tensor labels = read_idx(labels_path, kInt64);
  BG_CHECK(images.dim() == 3, dataset, images_path, " holds ", describe(images),
           ", expected images [N, rows, cols]");
  BG_CHECK(labels.dim() == 1 && labels.size(0) == images.size(0), dataset, labels_path, " holds ",
           describe(labels), ", expected one label for each of the ", images.size(0), " images in ",
           images_path);
  // Labels index the classes: one out of range would index out of range in a loss later.
  const int64_t* label = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i) {
    BG_CHECK(label[i] >= 0 && label[i] < kClasses, dataset, labels_path, ": label ", i, " is ",
             label[i], ", outside the ", kClasses, " classes 0-", kClasses - 1);
  }
  images.div_(255.0);
  return TensorDataset(images.unsqueeze(1), labels);
}

}  // namespace

MNIST::MNIST(const std::string& root, Split split)
    : TensorDataset(load("MNIST", root, split,
                         "download the four files of http://yann.lecun.com/exdb/mnist/ into it")) {}

FashionMNIST::FashionMNIST(const std::string& root, Split split)
    : TensorDataset(load("FashionMNIST", root, split,
                         "install Debian's dataset-fashion-mnist package (apt-get install "
                         "dataset-fashion-mnist) or pass the directory that holds the files")) {}

}  // namespace bg::data
