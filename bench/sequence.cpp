// Training steps of recurrent layers: forward, loss, backward, Adam step.
// peers/sequence.py runs the same steps in PyTorch.
//
// Workloads (float32; one iteration = one training step on a fixed batch, gradients reset first):
//   lstm_2x128_b32_t50   LSTM, 2 layers, input and hidden size 128, batch 32, 50 steps
//                        (time-major); MSE of the output against a fixed target, Adam(1e-3)
//   gru_2x128_b32_t50    the same with a GRU

#include <bg/nn.h>

#include "bench_util.h"

namespace nn = bg::nn;

namespace {

template <typename Layer>
void run_step(const bench::Args& args, const char* name, Layer& layer, double goal_ratio) {
  if (!args.wants(name)) return;
  const bg::Tensor x = bg::rand({50, 32, 128}), target = bg::rand({50, 32, 128});
  bg::optim::Adam optimizer(layer->parameters(), bg::optim::AdamOptions(1e-3));
  bench::Report report(name, args);
  report.us_per_iter(bench::measure(args, [&] {
    optimizer.zero_grad();
    nn::functional::mse_loss(std::get<0>(layer(x)), target).backward();
    optimizer.step();
  }));
  if (goal_ratio > 0) report.field("goal_min_ratio", goal_ratio);
  report.print();
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv);
  bg::set_num_threads(args.threads);
  bg::manual_seed(0);
  nn::LSTM lstm(nn::LSTMOptions(128, 128).num_layers(2));
  run_step(args, "lstm_2x128_b32_t50", lstm, 1.5);
  nn::GRU gru(nn::GRUOptions(128, 128).num_layers(2));
  run_step(args, "gru_2x128_b32_t50", gru, 0);
}
