"""Training steps of recurrent layers in PyTorch: the workloads of bench/sequence.cpp."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import bench_util


def main():
    args = bench_util.parse_args()
    blas = bench_util.setup_torch(args.threads)
    torch.manual_seed(0)

    def run_step(name, layer):
        if not bench_util.wants(args, name):
            return
        x, target = torch.rand(50, 32, 128), torch.rand(50, 32, 128)
        optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3)

        def step():
            optimizer.zero_grad(set_to_none=True)
            F.mse_loss(layer(x)[0], target).backward()
            optimizer.step()

        bench_util.Report(name, args, **blas).us_per_iter(bench_util.measure(args, step)).print()

    run_step("lstm_2x128_b32_t50", nn.LSTM(128, 128, num_layers=2))
    run_step("gru_2x128_b32_t50", nn.GRU(128, 128, num_layers=2))


if __name__ == "__main__":
    main()
