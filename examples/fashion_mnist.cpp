// Fashion-MNIST: an MLP and a small CNN built with the Module API, trained with Adam on the 60,000
// training images and evaluated on the 10,000 test images. The data comes from Debian's
// dataset-fashion-mnist package (scripts/demo installs it).
//
//   build/release/examples/fashion_mnist [--model mlp|cnn|both] [--epochs N] [--out DIR]
//                                        [--device cpu|cuda] [--help]
//
// Prints one progress line per epoch (loss, test accuracy, samples/s) and saves each trained model
// to DIR/fashion_mnist_<model>.safetensors. With the defaults (5 epochs, Adam with a cosine
// learning-rate schedule) the MLP reaches about 88-89% test accuracy and the CNN about 91%.

#include <bg/nn.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "common/cli.h"
#include "common/progress.h"

namespace nn = bg::nn;
namespace F = bg::nn::functional;

namespace {

nn::Sequential make_mlp() {
  return nn::Sequential(nn::Flatten(), nn::Linear(784, 512), nn::ReLU(), nn::Linear(512, 256),
                        nn::ReLU(), nn::Linear(256, 10));
}

nn::Sequential make_cnn() {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3).padding(1)), nn::ReLU(),
                        nn::MaxPool2d(2),  // 32 x 14 x 14
                        nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)), nn::ReLU(),
                        nn::MaxPool2d(2),  // 64 x 7 x 7
                        nn::Flatten(), nn::Linear(64 * 7 * 7, 128), nn::ReLU(),
                        nn::Linear(128, 10));
}

// The share of `dataset` the model classifies right, in batches, without recording a graph.
double accuracy(nn::Sequential& model, bg::data::TensorDataset& dataset, bg::Device device) {
  bg::NoGradGuard no_grad;
  model->eval();
  int64_t correct = 0;
  bg::data::DataLoader loader(std::shared_ptr<bg::data::Dataset>(&dataset, [](auto*) {}),
                              bg::data::DataLoaderOptions(1000));
  for (const bg::data::Example& batch : loader) {
    correct +=
        (model(batch.data.to(device)).argmax(1) == batch.target.to(device)).sum().item<int64_t>();
  }
  model->train();
  return static_cast<double>(correct) / static_cast<double>(dataset.size());
}

void train(const std::string& name, nn::Sequential model, int epochs, const std::string& out_dir,
           bg::Device device) {
  model->to(device);
  auto train_set = std::make_shared<bg::data::FashionMNIST>(bg::data::Split::Train);
  bg::data::FashionMNIST test_set(bg::data::Split::Test);
  bg::data::DataLoader loader(train_set, bg::data::DataLoaderOptions(64).shuffle(true));
  bg::optim::Adam optimizer(model->parameters(), bg::optim::AdamOptions(1e-3));
  // The learning rate follows a half cosine from 1e-3 to 0 over the run.
  bg::optim::CosineAnnealingLR schedule(optimizer, epochs);
  std::printf("== %s: %lld parameters\n", name.c_str(), static_cast<long long>([&] {
                int64_t n = 0;
                for (const bg::Tensor& p : model->parameters()) n += p.numel();
                return n;
              }()));
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    examples::Progress progress(name + " epoch " + std::to_string(epoch), loader.num_batches(),
                                "batches");
    double loss_sum = 0;
    int64_t batches = 0;
    for (const bg::data::Example& batch : loader) {
      optimizer.zero_grad();
      const bg::Tensor loss =
          F::cross_entropy(model(batch.data.to(device)), batch.target.to(device));
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>();
      ++batches;
      progress.step();
    }
    progress.finish();
    schedule.step();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("epoch %d   loss %.4f   test accuracy %.4f   %.0f samples/s\n", epoch,
                loss_sum / static_cast<double>(batches), accuracy(model, test_set, device),
                static_cast<double>(train_set->size()) / seconds);
  }
  std::filesystem::create_directories(out_dir);
  const std::string path = out_dir + "/fashion_mnist_" + name + ".safetensors";
  bg::save(*model, path);
  std::printf("saved the trained %s to %s\n", name.c_str(), path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string which = "both", out_dir = "out";
  int epochs = 5;
  bg::Device device = bg::Device::cpu();
  examples::Cli cli("fashion_mnist",
                    "An MLP and a small CNN trained on Fashion-MNIST with the Module API; saves "
                    "each to DIR/fashion_mnist_<model>.safetensors.");
  cli.choice("--model", {"mlp", "cnn", "both"}, "which models to train", which);
  cli.option("--epochs", "N", "passes over the 60000 training images", epochs, 1);
  cli.option("--out", "DIR", "where the trained models go", out_dir);
  cli.option("--device", "DEVICE", "cpu, cuda or cuda:N", device);
  cli.parse(argc, argv);
  bg::manual_seed(0);
  if (which == "mlp" || which == "both") train("mlp", make_mlp(), epochs, out_dir, device);
  if (which == "cnn" || which == "both") train("cnn", make_cnn(), epochs, out_dir, device);
}
