"""A training step of a Transformer encoder in PyTorch: the workload of bench/transformer.cpp."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import bench_util


def main():
    args = bench_util.parse_args()
    blas = bench_util.setup_torch(args.threads)
    torch.manual_seed(0)
    name = "transformer_encoder_2x128_b32_t64"
    if not bench_util.wants(args, name):
        return
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(128, 4, dim_feedforward=512), 2)
    x, target = torch.rand(64, 32, 128), torch.rand(64, 32, 128)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.mse_loss(encoder(x), target).backward()
        optimizer.step()

    bench_util.Report(name, args, **blas).us_per_iter(bench_util.measure(args, step)).print()


if __name__ == "__main__":
    main()
