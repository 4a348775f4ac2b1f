// Fashion-MNIST with a small Vision Transformer: a Bayesian one beside its deterministic twin.
//
// The model is written here as a user would write it: a module whose forward maps images
// [N, 1, 28, 28] to logits [N, 10]. Each image is cut into 16 patches of 7 x 7 pixels, the tokens;
// a Linear layer embeds each patch in 64 features and a learned position embedding is added; two
// pre-norm TransformerEncoderLayers (4 heads, feed-forward 128, no dropout) and a final LayerNorm
// mix the tokens; their mean goes through a Linear layer to the 10 classes.
// - deterministic: the model trained on the cross-entropy;
// - BNN: the same model made Bayesian with one line, bayes::BayesianModule: every parameter (the
//   attention's in_proj_weight, the norms', the position embedding's) becomes a Gaussian posterior
//   whose mean starts at the parameter's initial value ("pretrained_gaussian", sigma about 0.05),
//   under an N(0, 1) prior, trained on the negative ELBO per example (bayes::elbo_loss: the
//   cross-entropy + KL / N, N the number of training examples).
// Both train with the same budget (Adam, lr 1e-3, batch 128, the same epochs over the same
// examples), then classify the test set and two out-of-distribution sets (the test images
// inverted, and uniform noise) through examples/common/classifier_report.h, as
// bnn_fashion_mnist does: accuracy, NLL, ECE and Brier score on the test set, and the AUROC of the
// predictive entropy and of the mutual information (the BNN's epistemic uncertainty) for telling
// test images from the out-of-distribution ones.
//
//   build/release/examples/bnn_transformer [--epochs N] [--train-size N] [--samples N]
//       [--seed N] [--data DIR] [--out DIR] [--help]
//
// The default run trains on all 60000 training examples for 5 epochs and predicts from 20 draws:
// about two minutes of CPU time. Needs Debian's dataset-fashion-mnist package (or the four IDX
// files in --data DIR). Writes DIR/bnn_transformer.md and prints the same table.

#include <bg/bg.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/classifier_report.h"
#include "common/cli.h"

namespace nn = bg::nn;
namespace bayes = bg::bayes;
using bg::Tensor;
using examples::seconds_since;

namespace {

struct Settings {
  int64_t epochs = 5;
  int64_t train_size = 60000;
  int64_t samples = 20;
  uint64_t seed = 0;
  std::string data = bg::data::FashionMNIST::kDefaultRoot;
  std::string out = "out";
};

Settings parse(int argc, char** argv) {
  Settings s;
  examples::Cli cli("bnn_transformer",
                    "A Bayesian Vision Transformer next to its deterministic twin on "
                    "Fashion-MNIST: accuracy, calibration and out-of-distribution detection; "
                    "writes DIR/bnn_transformer.md.");
  cli.option("--epochs", "N", "passes over the training examples", s.epochs, int64_t{1});
  cli.option("--train-size", "N", "training examples used (the first N)", s.train_size, int64_t{1});
  cli.option("--samples", "N", "draws per prediction of the BNN", s.samples, int64_t{1});
  cli.option("--seed", "N", "random seed", s.seed);
  cli.option("--data", "DIR", "the Fashion-MNIST IDX files", s.data);
  cli.option("--out", "DIR", "where the table goes", s.out);
  cli.parse(argc, argv);
  return s;
}

constexpr int64_t kPatch = 7;                      // pixels per patch side
constexpr int64_t kGrid = 28 / kPatch;             // patches per image side
constexpr int64_t kTokens = kGrid * kGrid;         // 16
constexpr int64_t kPatchPixels = kPatch * kPatch;  // 49
constexpr int64_t kModel = 64, kHeads = 4, kFeedForward = 128;
constexpr int64_t kChunk = 1000;  // images per predictive pass

// A Vision Transformer for 28 x 28 images: patches -> tokens -> encoder -> mean -> classes.
class PatchTransformerImpl : public nn::Module {
 public:
  PatchTransformerImpl() : Module("PatchTransformer") {
    embed = register_module("embed", nn::Linear(kPatchPixels, kModel));
    position = register_parameter("position", bg::randn({kTokens, kModel}) * 0.02);
    encoder = register_module(
        "encoder", nn::TransformerEncoder(nn::TransformerEncoderOptions(
                                              nn::TransformerEncoderLayerOptions(kModel, kHeads)
                                                  .dim_feedforward(kFeedForward)
                                                  .dropout(0.0)
                                                  .batch_first(true)
                                                  .norm_first(true),
                                              2)
                                              .norm(nn::LayerNorm(bg::Shape{kModel}))));
    head = register_module("head", nn::Linear(kModel, 10));
  }

  /// Logits [N, 10] of standardized images [N, 1, 28, 28].
  Tensor forward(const Tensor& images) {
    const int64_t n = images.size(0);
    // [N, 1, 28, 28] -> [N, 4, 7, 4, 7] (rows of patches, pixel rows, columns of patches, pixel
    // columns) -> [N, 16, 49]: patch (i, j) is token 4 i + j.
    const Tensor patches = images.reshape({n, kGrid, kPatch, kGrid, kPatch})
                               .permute({0, 1, 3, 2, 4})
                               .reshape({n, kTokens, kPatchPixels});
    const Tensor tokens = embed(patches) + position;
    return head(encoder(tokens).mean({1}));
  }

  nn::Linear embed = nullptr;
  Tensor position;
  nn::TransformerEncoder encoder = nullptr;
  nn::Linear head = nullptr;
};
BG_MODULE(PatchTransformer);

// Images in [0, 1], standardized with Fashion-MNIST's pixel mean and std (out-of-distribution
// images go through the same transform).
Tensor standardize(const Tensor& images) { return (images - 0.2860) / 0.3530; }

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse(argc, argv);
  bg::manual_seed(settings.seed);

  // 1. Data: a subset of the training set, the test set, and two out-of-distribution sets.
  const bg::data::FashionMNIST train_set(settings.data, bg::data::Split::Train);
  const bg::data::FashionMNIST test_set(settings.data, bg::data::Split::Test);
  const int64_t n = std::min<int64_t>(settings.train_size, train_set.size());
  const Tensor x_train = standardize(train_set.data().narrow(0, 0, n));
  const Tensor y_train = train_set.targets().narrow(0, 0, n);
  const Tensor x_test = standardize(test_set.data()), y_test = test_set.targets();
  const Tensor x_inverted = standardize(1.0 - test_set.data());
  const Tensor x_noise = standardize(bg::rand(test_set.data().sizes()));
  bg::data::DataLoader loader(std::make_shared<bg::data::TensorDataset>(x_train, y_train),
                              bg::data::DataLoaderOptions(128).shuffle(true));
  std::printf(
      "Fashion-MNIST: %lld of the 60000 training examples, %lld test examples, %lld epochs\n",
      static_cast<long long>(n), static_cast<long long>(test_set.size()),
      static_cast<long long>(settings.epochs));

  // 2. The deterministic Transformer.
  PatchTransformer net;
  int64_t parameters = 0;
  for (const Tensor& p : net->parameters()) parameters += p.numel();
  std::printf("PatchTransformer: %lld parameters\n", static_cast<long long>(parameters));
  const auto start_deterministic = std::chrono::steady_clock::now();
  examples::train("deterministic", *net, loader, settings.epochs,
                  [&](const bg::data::Example& batch) {
                    return nn::functional::cross_entropy(net(batch.data), batch.target);
                  });
  const double deterministic_s = seconds_since(start_deterministic);

  // 3. Its Bayesian twin: a fresh model of the same class, one line to convert, the ELBO to train.
  bayes::BayesianModule bnn(PatchTransformer(),
                            bayes::BayesianOptions().posterior("pretrained_gaussian"));
  const auto start_bayesian = std::chrono::steady_clock::now();
  examples::train("BNN", *bnn, loader, settings.epochs, [&](const bg::data::Example& batch) {
    return bayes::elbo_loss(nn::functional::cross_entropy(bnn(batch.data), batch.target), bnn, n);
  });
  const double bayesian_s = seconds_since(start_bayesian);

  // 4. Evaluation: one pass of the deterministic model, `samples` draws of the Bayesian one, over
  // 1000 images at a time (so that the activations of a draw stay in cache).
  const auto start_evaluation = std::chrono::steady_clock::now();
  const std::vector<examples::Row> rows = {
      examples::evaluate("deterministic Transformer", net, 1, x_test, y_test, x_inverted, x_noise,
                         kChunk),
      examples::evaluate("Bayesian Transformer (" + std::to_string(settings.samples) + " samples)",
                         bnn, settings.samples, x_test, y_test, x_inverted, x_noise, kChunk)};
  const double evaluation_s = seconds_since(start_evaluation);

  const std::string result =
      "Fashion-MNIST test set (10000 images), Transformers trained on the first " +
      std::to_string(n) + " training examples for " + std::to_string(settings.epochs) +
      " epochs (seed " + std::to_string(settings.seed) + ").\n\n" + examples::table(rows);
  std::filesystem::create_directories(settings.out);
  const std::string path = settings.out + "/bnn_transformer.md";
  std::ofstream(path) << result;
  std::printf("\n%s\n", result.c_str());
  std::printf("(MI: mutual information, which a deterministic network does not have.)\n");
  std::printf("training %.1f s (deterministic), %.1f s (BNN); evaluation %.1f s; wrote %s\n",
              deterministic_s, bayesian_s, evaluation_s, path.c_str());
}
