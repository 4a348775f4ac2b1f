// A training step of a Transformer encoder: forward, loss, backward, Adam step.
// peers/transformer.py runs the same step in PyTorch.
//
// Workload (float32; one iteration = one training step on a fixed batch, gradients reset first):
//   transformer_encoder_2x128_b32_t64   TransformerEncoder of 2 TransformerEncoderLayers (d_model
//                                       128, 4 heads, dim_feedforward 512, PyTorch's default
//                                       dropout 0.1 and ReLU, post-norm), input [64, 32, 128]
//                                       (sequence-major) of rand, training mode; MSE of the output
//                                       against a fixed rand target, Adam(1e-3)

#include <bg/nn.h>

#include "bench_util.h"

namespace nn = bg::nn;

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv);
  bg::set_num_threads(args.threads);
  bg::manual_seed(0);
  const char* name = "transformer_encoder_2x128_b32_t64";
  if (!args.wants(name)) return 0;
  nn::TransformerEncoder encoder(nn::TransformerEncoderOptions(
      nn::TransformerEncoderLayerOptions(128, 4).dim_feedforward(512), 2));
  const bg::Tensor x = bg::rand({64, 32, 128}), target = bg::rand({64, 32, 128});
  bg::optim::Adam optimizer(encoder->parameters(), bg::optim::AdamOptions(1e-3));
  bench::Report report(name, args);
  report.us_per_iter(bench::measure(args, [&] {
    optimizer.zero_grad();
    nn::functional::mse_loss(encoder(x), target).backward();
    optimizer.step();
  }));
  report.field("goal_min_ratio", 1.5);
  report.print();
}
