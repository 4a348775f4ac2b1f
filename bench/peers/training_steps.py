"""Training steps in PyTorch: the workloads of bench/training_steps.cpp (see its header)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import bench_util


def main():
    args = bench_util.parse_args()
    blas = bench_util.setup_torch(args.threads)
    torch.manual_seed(0)

    def run_step(name, model, x, y, lr, loss_fn):
        if not bench_util.wants(args, name):
            return
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            optimizer.step()

        bench_util.Report(name, args, **blas).us_per_iter(bench_util.measure(args, step)).print()

    mlp = nn.Sequential(nn.Linear(784, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(),
                        nn.Linear(1200, 10))
    run_step("mlp_784_1200_1200_10", mlp, torch.rand(128, 784), torch.randint(0, 10, (128,)),
             1e-3, F.cross_entropy)

    lenet = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 120),
                          nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    run_step("lenet_28x28_b64", lenet, torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,)),
             1e-3, F.cross_entropy)

    seed = nn.Sequential(nn.Linear(1, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(),
                         nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(),
                         nn.Linear(20, 1))
    x = torch.linspace(-5, 5, 64).unsqueeze(1)
    run_step("seed_mlp_1_20x4_1", seed, x, torch.sin(1.5 * x), 1e-2, F.mse_loss)


if __name__ == "__main__":
    main()
