// Training steps of whole models: forward, loss, backward, optimizer step.
// peers/training_steps.py runs the same steps in PyTorch.
//
// Workloads (float32; one iteration = one training step on a fixed batch, gradients reset first):
//   mlp_784_1200_1200_10   MLP 784-1200-1200-10 with ReLU, batch 128, cross-entropy, Adam(1e-3)
//   lenet_28x28_b64        conv 1->6 5x5, ReLU, max-pool 2, conv 6->16 5x5, ReLU, max-pool 2,
//                          flatten, linear 256->120, ReLU, 120->84, ReLU, 84->10; batch 64 of
//                          28x28 images, cross-entropy, Adam(1e-3)
//   seed_mlp_1_20x4_1      MLP 1-20-20-20-20-1 with ReLU (torchbayesian's example, not Bayesian),
//                          batch 64, MSE, Adam(1e-2): overhead-bound

#include <bg/nn.h>

#include "bench_util.h"

namespace nn = bg::nn;

namespace {

template <typename Model, typename Loss>
void run_step(const bench::Args& args, const char* name, Model& model, const bg::Tensor& x,
              const bg::Tensor& y, double lr, Loss loss_fn, double goal_ratio) {
  if (!args.wants(name)) return;
  bg::optim::Adam optimizer(model->parameters(), bg::optim::AdamOptions(lr));
  bench::Report report(name, args);
  report.us_per_iter(bench::measure(args, [&] {
    optimizer.zero_grad();
    loss_fn(model(x), y).backward();
    optimizer.step();
  }));
  report.field("goal_min_ratio", goal_ratio).print();
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv);
  bg::set_num_threads(args.threads);
  bg::manual_seed(0);
  const auto cross_entropy = [](const bg::Tensor& logits, const bg::Tensor& labels) {
    return nn::functional::cross_entropy(logits, labels);
  };

  nn::Sequential mlp(nn::Linear(784, 1200), nn::ReLU(), nn::Linear(1200, 1200), nn::ReLU(),
                     nn::Linear(1200, 10));
  run_step(args, "mlp_784_1200_1200_10", mlp, bg::rand({128, 784}), bg::randint(0, 10, {128}), 1e-3,
           cross_entropy, 1.5);

  nn::Sequential lenet(nn::Conv2d(1, 6, 5), nn::ReLU(), nn::MaxPool2d(2), nn::Conv2d(6, 16, 5),
                       nn::ReLU(), nn::MaxPool2d(2), nn::Flatten(), nn::Linear(256, 120),
                       nn::ReLU(), nn::Linear(120, 84), nn::ReLU(), nn::Linear(84, 10));
  run_step(args, "lenet_28x28_b64", lenet, bg::rand({64, 1, 28, 28}), bg::randint(0, 10, {64}),
           1e-3, cross_entropy, 1.5);

  nn::Sequential seed(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                      nn::Linear(20, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                      nn::Linear(20, 1));
  const bg::Tensor x = bg::linspace(-5, 5, 64).unsqueeze(1);
  run_step(
      args, "seed_mlp_1_20x4_1", seed, x, (x * 1.5).sin(), 1e-2,
      [](const bg::Tensor& p, const bg::Tensor& t) { return nn::functional::mse_loss(p, t); },
      10.0);
}
