// Fashion-MNIST: a Bayesian MLP trained by several processes at once (data parallelism on MPI).
//
//   mpirun -np 2 build/release/examples/dist_train [--epochs N] [--train-size N] [--batch N]
//       [--samples N] [--seed N] [--data DIR] [--out DIR] [--help]
//
// (as root, add --allow-run-as-root; on a machine with fewer cores than processes, --oversubscribe)
//
// Every process builds the same BNN (784-400-400-10, ReLU, Gaussian posteriors, N(0, 1) priors),
// wraps it in dist::DataParallel (rank 0's initial parameters are copied to all), and trains on
// its own share of the examples (data::DistributedSampler) with the negative ELBO per example,
// bayes::elbo_loss = cross-entropy + KL / N, N the size of the whole training set: after each
// backward pass the gradients are averaged over the processes, so the R processes with batches of
// B / R train like one process with batches of B (distributed/include/bg/dist/data_parallel.h).
// Each rank then classifies its half of the test set and the accuracies are combined with
// all_reduce; rank 0 writes the checkpoint. Runs without mpirun too, as a job of one process.
//
// The default run (3 epochs over 20000 examples, global batch 128) takes about 15 s on 2 cores;
// --train-size 60000 --epochs 10 trains on the whole set.
// Needs Debian's dataset-fashion-mnist package (or the four IDX files in --data DIR). Writes
// DIR/dist_train_bnn.safetensors.

#include <bg/bg.h>
#include <bg/dist.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "common/cli.h"
#include "common/progress.h"

namespace nn = bg::nn;
namespace bayes = bg::bayes;
namespace dist = bg::dist;
using bg::Tensor;

namespace {

struct Settings {
  int64_t epochs = 3;
  int64_t train_size = 20000;
  int64_t batch = 128;  // the global batch, split over the ranks
  int64_t samples = 20;
  uint64_t seed = 0;
  std::string data = bg::data::FashionMNIST::kDefaultRoot;
  std::string out = "out";
};

Settings parse(int argc, char** argv) {
  Settings s;
  examples::Cli cli("dist_train",
                    "A Bayesian MLP trained on Fashion-MNIST by several processes (run it under "
                    "mpirun); writes DIR/dist_train_bnn.safetensors.");
  cli.option("--epochs", "N", "passes over the training examples", s.epochs, int64_t{1});
  cli.option("--train-size", "N", "training examples used", s.train_size, int64_t{1});
  cli.option("--batch", "N", "the global batch, split over the processes", s.batch, int64_t{1});
  cli.option("--samples", "N", "draws per prediction", s.samples, int64_t{1});
  cli.option("--seed", "N", "random seed", s.seed);
  cli.option("--data", "DIR", "the Fashion-MNIST IDX files", s.data);
  cli.option("--out", "DIR", "where the checkpoint goes", s.out);
  cli.parse(argc, argv);
  return s;
}

// Images [N, 1, 28, 28] in [0, 1] -> standardized rows [N, 784].
Tensor features(const Tensor& images) {
  return (images.reshape({images.size(0), 784}) - 0.2860) / 0.3530;
}

// Only rank 0 prints, so the output reads as one program's.
template <typename... Args>
void say(const char* format, Args... args) {
  if (dist::rank() != 0) return;
  std::printf(format, args...);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Settings settings = parse(argc, argv);  // before MPI starts: --help needs no job
  dist::init();
  const int world = dist::world_size();
  // The cores are shared by the processes of this machine.
  bg::set_num_threads(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / world));
  // The same seed everywhere: the same model on every rank, the same weight noise at each step.
  bg::manual_seed(settings.seed);

  const bg::data::FashionMNIST train_set(settings.data, bg::data::Split::Train);
  const bg::data::FashionMNIST test_set(settings.data, bg::data::Split::Test);
  const int64_t n = std::min<int64_t>(settings.train_size, train_set.size());
  auto train = std::make_shared<bg::data::TensorDataset>(features(train_set.data().narrow(0, 0, n)),
                                                         train_set.targets().narrow(0, 0, n));
  auto sampler = std::make_shared<bg::data::DistributedSampler>(
      n, bg::data::DistributedSamplerOptions().seed(settings.seed));
  bg::data::DataLoader loader(train,
                              bg::data::DataLoaderOptions(settings.batch / world).sampler(sampler));
  say("Fashion-MNIST BNN on %d processes: %lld examples (%lld per rank), global batch %lld\n",
      world, static_cast<long long>(n), static_cast<long long>(sampler->size()),
      static_cast<long long>(settings.batch / world * world));

  nn::Sequential net(nn::Linear(784, 400), nn::ReLU(), nn::Linear(400, 400), nn::ReLU(),
                     nn::Linear(400, 10));
  bayes::BayesianModule bnn(net);
  dist::DataParallel model(bnn);
  bg::optim::Adam optimizer(model->parameters(), bg::optim::AdamOptions(1e-3));

  for (int64_t epoch = 1; epoch <= settings.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    examples::Progress progress("epoch " + std::to_string(epoch), loader.num_batches(), "batches",
                                dist::rank() == 0);
    double total = 0;
    for (const bg::data::Example& batch : loader) {
      optimizer.zero_grad();
      // N = n, the whole training set, on every rank (Note [KL scaling across ranks]).
      const Tensor loss =
          bayes::elbo_loss(nn::functional::cross_entropy(model(batch.data), batch.target), bnn, n);
      loss.backward();  // returns with the gradients averaged over the ranks
      optimizer.step();
      total += loss.item<double>();
      progress.step();
    }
    progress.finish();
    const double mean_loss =
        dist::all_reduce(bg::tensor({total / static_cast<double>(loader.num_batches())}),
                         dist::ReduceOp::Mean)
            .item<double>();
    say("epoch %lld   loss %.4f   (%.1f s)\n", static_cast<long long>(epoch), mean_loss,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  // Each rank classifies its slice of the test set; the counts of correct answers are summed.
  model->eval();
  const int64_t per_rank = (test_set.size() + world - 1) / world;
  const int64_t first = std::min<int64_t>(dist::rank() * per_rank, test_set.size());
  const int64_t count = std::min<int64_t>(per_rank, test_set.size() - first);
  const Tensor x = features(test_set.data().narrow(0, first, count));
  const Tensor y = test_set.targets().narrow(0, first, count);
  const bayes::Prediction p = bayes::predict(bnn, x, settings.samples, bayes::Task::Classification);
  const Tensor correct = bg::tensor({bayes::accuracy(p.probabilities, y) * count});
  const double accuracy =
      dist::all_reduce(correct).item<double>() / static_cast<double>(test_set.size());
  say("test accuracy %.4f (%lld draws per prediction)\n", accuracy,
      static_cast<long long>(settings.samples));

  const std::filesystem::path path =
      std::filesystem::path(settings.out) / "dist_train_bnn.safetensors";
  dist::on_rank0([&] {
    std::filesystem::create_directories(settings.out);
    bayes::save(bnn, path);
  });
  say("wrote %s\n", path.c_str());
  return 0;
}
