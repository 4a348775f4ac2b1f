"""The GPU workloads of bench/gpu.cpp (see its header) in PyTorch, on cuda:0. Timings end with
torch.cuda.synchronize() after each timed batch, as ours end with bg::cuda::synchronize()."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import bench_util
from bayes_by_backprop import BayesLinear, BayesMLP, seed_mlp


def mlp_784():
    return nn.Sequential(nn.Linear(784, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(),
                         nn.Linear(1200, 10))


def run(args, name, fn):
    if bench_util.wants(args, name):
        timing = bench_util.measure(args, fn, torch.cuda.synchronize)
        bench_util.Report(name, args, torch=torch.__version__).us_per_iter(timing).print()


def step(model, optimizer, loss_fn):
    def one_step():
        optimizer.zero_grad()
        loss_fn(model).backward()
        optimizer.step()
    return one_step


def main():
    args = bench_util.parse_args()
    torch.manual_seed(0)
    gpu = torch.device("cuda:0")

    mlp = mlp_784().to(gpu)
    images, labels = torch.rand(128, 784, device=gpu), torch.randint(0, 10, (128,), device=gpu)
    run(args, "gpu_mlp_784_1200_1200_10",
        step(mlp, torch.optim.Adam(mlp.parameters(), 1e-3), lambda m: F.cross_entropy(m(images), labels)))

    bnn = BayesMLP(BayesLinear(784, 1200), nn.ReLU(), BayesLinear(1200, 1200), nn.ReLU(),
                   BayesLinear(1200, 10)).to(gpu)
    run(args, "gpu_bbb_mlp_784_1200_1200_10",
        step(bnn, torch.optim.Adam(bnn.parameters(), 1e-3),
             lambda m: F.cross_entropy(m(images), labels) + m.kl() / 60000.0))

    seed = seed_mlp().to(gpu)
    x = torch.linspace(-5, 5, 64, device=gpu).unsqueeze(1)
    y = torch.sin(x * 1.5)
    run(args, "gpu_bbb_seed_step",
        step(seed, torch.optim.Adam(seed.parameters(), 1e-2),
             lambda m: F.mse_loss(m(x), y) + 0.1 * m.kl("mean")))

    if bench_util.wants(args, "gpu_gemm_4096"):
        a, b = torch.randn(4096, 4096, device=gpu), torch.randn(4096, 4096, device=gpu)
        timing = bench_util.measure(args, lambda: torch.mm(a, b), torch.cuda.synchronize)
        bench_util.Report("gpu_gemm_4096", args, torch=torch.__version__).gflops(2.0 * 4096**3, timing).print()


if __name__ == "__main__":
    main()
