// Bayes by Backprop with bayes::BayesianModule. peers/bayes_by_backprop.py runs the same recipes
// in plain PyTorch, with the variational layers written by hand (as torchbayesian's would be).
//
// Workloads (float32; Gaussian posteriors mu ~ N(0, 0.1), rho = -3; N(0, 1) priors; Adam):
//   bbb_seed_step          one training step of torchbayesian's example: MLP 1-20-20-20-20-1
//                          with ReLU, batch 64, loss MSE + 0.1 * mean KL, Adam(1e-2)
//   bbb_seed_training      the whole example's training: 250 points, 500 epochs of shuffled
//                          batches of 64 (2000 steps), one iteration = the whole training
//   bbb_seed_predict       1000 predictive draws on 5000 points: mean and std (bayes::predict:
//                          vectorised chunks of draws; the peer loops over forward passes)
//   bbb_seed_predict_32    the same on 32 points, where a forward pass is mostly per-op overhead
//   seed_predict_deterministic  the plain (not Bayesian) MLP's forward pass on the 5000 points,
//                          1000 times without gradients: the loop the predictive draws replace
//   bbb_seed_step_10_samples  one step of a 10-sample ELBO (the mean of 10 draws' MSE, batch 64):
//                          forward_samples here, 10 forward passes in the peer
//   bbb_mlp_784_1200_1200_10  one step of a Bayesian MLP 784-1200-1200-10 (4.8 M variational
//                          parameters), batch 128, loss cross-entropy + KL / 60000, Adam(1e-3)

#include <bg/bg.h>

#include "bench_util.h"

namespace nn = bg::nn;
namespace bayes = bg::bayes;

namespace {

nn::Sequential seed_mlp() {
  return nn::Sequential(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                        nn::Linear(20, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                        nn::Linear(20, 1));
}

// The goals (issue 15; 0: none): at most goal_max_us per iteration, at least goal_min_ratio times
// PyTorch's speed.
struct Goals {
  double max_us = 0;
  double min_ratio = 0;
};

template <typename Fn>
void run(const bench::Args& args, const char* name, Goals goals, Fn&& fn) {
  if (!args.wants(name)) return;
  bench::Report report(name, args);
  report.us_per_iter(bench::measure(args, fn));
  if (goals.max_us > 0) report.field("goal_max_us", goals.max_us);
  if (goals.min_ratio > 0) report.field("goal_min_ratio", goals.min_ratio);
  report.print();
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv);
  bg::set_num_threads(args.threads);
  bg::manual_seed(0);

  const bg::Tensor x = bg::linspace(-5, 5, 250).unsqueeze(1);
  const bg::Tensor y = (x * 1.5).sin() + 0.1 * bg::randn_like(x);
  const auto seed_loss = [](bayes::BayesianModule<>& bnn, const bg::Tensor& input,
                            const bg::Tensor& target) {
    return nn::functional::mse_loss(bnn(input), target) +
           0.1 * bnn->kl_divergence({bayes::KLReduction::Mean});
  };

  // One step of a fresh model, timed as it trains on.
  const auto time_seed_step = [&](const char* name) {
    bayes::BayesianModule bnn(seed_mlp());
    bg::optim::Adam optimizer(bnn->parameters(), bg::optim::AdamOptions(1e-2));
    const bg::Tensor batch_x = x.narrow(0, 0, 64), batch_y = y.narrow(0, 0, 64);
    run(args, name, {70.0, 15.0}, [&] {
      optimizer.zero_grad();
      seed_loss(bnn, batch_x, batch_y).backward();
      optimizer.step();
    });
  };
  time_seed_step("bbb_seed_step");
  // The same with denormals flushed to zero on both sides (bg::set_flush_denormal,
  // torch.set_flush_denormal): as it trains, the means of weights only the KL pulls on decay into
  // denormals, which x86 CPUs compute on through slow microcode assists.
  bg::set_flush_denormal(true);
  time_seed_step("bbb_seed_step_flush_denormal");
  bg::set_flush_denormal(false);

  run(args, "bbb_seed_training", {0.15e6, 16.0}, [&] {
    bayes::BayesianModule bnn(seed_mlp());
    bg::optim::Adam optimizer(bnn->parameters(), bg::optim::AdamOptions(1e-2));
    bg::data::DataLoader loader(std::make_shared<bg::data::TensorDataset>(x, y),
                                bg::data::DataLoaderOptions(64).shuffle(true));
    for (int epoch = 0; epoch < 500; ++epoch) {
      for (const bg::data::Example& batch : loader) {
        optimizer.zero_grad();
        seed_loss(bnn, batch.data, batch.target).backward();
        optimizer.step();
      }
    }
  });

  {
    bayes::BayesianModule bnn(seed_mlp());
    const bg::Tensor grid = bg::linspace(-8.5, 8.5, 5000).unsqueeze(1);
    run(args, "bbb_seed_predict", {0.15e6, 2.0}, [&] { (void)bayes::predict(bnn, grid, 1000); });
    const bg::Tensor few = bg::linspace(-8.5, 8.5, 32).unsqueeze(1);
    run(args, "bbb_seed_predict_32", {}, [&] { (void)bayes::predict(bnn, few, 1000); });
  }

  if (args.wants("seed_predict_deterministic")) {
    nn::Sequential net = seed_mlp();
    const bg::Tensor grid = bg::linspace(-8.5, 8.5, 5000).unsqueeze(1);
    bench::Report report("seed_predict_deterministic", args);
    report.us_per_iter(bench::measure(args, [&] {
      bg::NoGradGuard no_grad;
      for (int i = 0; i < 1000; ++i) (void)net->forward(grid);
    }));
    report.field("goal_min_ratio", 1.3).print();
  }

  {
    bayes::BayesianModule bnn(seed_mlp());
    bg::optim::Adam optimizer(bnn->parameters(), bg::optim::AdamOptions(1e-2));
    const bg::Tensor batch_x = x.narrow(0, 0, 64), batch_y = y.narrow(0, 0, 64);
    run(args, "bbb_seed_step_10_samples", {}, [&] {
      optimizer.zero_grad();
      const bg::Tensor draws = bnn->forward_samples(batch_x, 10);  // [10, 64, 1]
      (nn::functional::mse_loss(draws, batch_y.expand({10, 64, 1})) +
       0.1 * bnn->kl_divergence({bayes::KLReduction::Mean}))
          .backward();
      optimizer.step();
    });
  }

  {
    bayes::BayesianModule bnn(nn::Sequential(nn::Linear(784, 1200), nn::ReLU(),
                                             nn::Linear(1200, 1200), nn::ReLU(),
                                             nn::Linear(1200, 10)));
    bg::optim::Adam optimizer(bnn->parameters(), bg::optim::AdamOptions(1e-3));
    const bg::Tensor images = bg::rand({128, 784}), labels = bg::randint(0, 10, {128});
    run(args, "bbb_mlp_784_1200_1200_10", {0, 2.3}, [&] {
      optimizer.zero_grad();
      (nn::functional::cross_entropy(bnn(images), labels) + bnn->kl_divergence() / 60000.0)
          .backward();
      optimizer.step();
    });
  }
}
