"""Bayes by Backprop in plain PyTorch: the workloads of bench/bayes_by_backprop.cpp (see its header),
with the variational layers written by hand, the way torchbayesian's parametrizations compute them
(w = mu + softplus(rho) * eps, closed-form Gaussian KL against N(0, 1))."""

import torch
import torch.nn as nn
import torch.nn.functional as F

import bench_util


class BayesLinear(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.w_mu = nn.Parameter(torch.randn(n_out, n_in) * 0.1)
        self.w_rho = nn.Parameter(torch.full((n_out, n_in), -3.0))
        self.b_mu = nn.Parameter(torch.randn(n_out) * 0.1)
        self.b_rho = nn.Parameter(torch.full((n_out,), -3.0))

    def forward(self, x):
        w = self.w_mu + F.softplus(self.w_rho) * torch.randn_like(self.w_mu)
        b = self.b_mu + F.softplus(self.b_rho) * torch.randn_like(self.b_mu)
        return F.linear(x, w, b)

    def kl(self):
        total = 0.0
        for mu, rho in ((self.w_mu, self.w_rho), (self.b_mu, self.b_rho)):
            s = F.softplus(rho)
            total = total + (-torch.log(s) + (s * s + mu * mu) / 2 - 0.5).sum()
        return total


class BayesMLP(nn.Sequential):
    def kl(self, reduction="sum"):
        layers = [m for m in self if isinstance(m, BayesLinear)]
        total = sum(layer.kl() for layer in layers)
        if reduction == "mean":
            total = total / sum(p.numel() for layer in layers for p in (layer.w_mu, layer.b_mu))
        return total


def seed_mlp():
    return BayesMLP(BayesLinear(1, 20), nn.ReLU(), BayesLinear(20, 20), nn.ReLU(),
                    BayesLinear(20, 20), nn.ReLU(), BayesLinear(20, 20), nn.ReLU(),
                    BayesLinear(20, 1))


def main():
    args = bench_util.parse_args()
    blas = bench_util.setup_torch(args.threads)
    torch.manual_seed(0)

    def run(name, fn):
        if bench_util.wants(args, name):
            bench_util.Report(name, args, **blas).us_per_iter(bench_util.measure(args, fn)).print()

    x = torch.linspace(-5, 5, 250).unsqueeze(1)
    y = torch.sin(1.5 * x) + 0.1 * torch.randn_like(x)

    def seed_loss(model, inputs, targets):
        return F.mse_loss(model(inputs), targets) + 0.1 * model.kl("mean")

    batch_x, batch_y = x[:64], y[:64]

    def time_seed_step(name):
        """One step of a fresh model, timed as it trains on."""
        model = seed_mlp()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

        def seed_step():
            optimizer.zero_grad(set_to_none=True)
            seed_loss(model, batch_x, batch_y).backward()
            optimizer.step()

        run(name, seed_step)

    time_seed_step("bbb_seed_step")
    torch.set_flush_denormal(True)
    time_seed_step("bbb_seed_step_flush_denormal")
    torch.set_flush_denormal(False)

    def seed_training():
        model = seed_mlp()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=64,
                                             shuffle=True)
        for _ in range(500):
            for inputs, targets in loader:
                optimizer.zero_grad(set_to_none=True)
                seed_loss(model, inputs, targets).backward()
                optimizer.step()

    run("bbb_seed_training", seed_training)

    model = seed_mlp()
    grid = torch.linspace(-8.5, 8.5, 5000).unsqueeze(1)

    def seed_predict():
        with torch.no_grad():
            draws = torch.stack([model(grid) for _ in range(1000)])
            return draws.mean(0), draws.std(0, unbiased=False)

    run("bbb_seed_predict", seed_predict)

    few = torch.linspace(-8.5, 8.5, 32).unsqueeze(1)

    def seed_predict_32():
        with torch.no_grad():
            draws = torch.stack([model(few) for _ in range(1000)])
            return draws.mean(0), draws.std(0, unbiased=False)

    run("bbb_seed_predict_32", seed_predict_32)

    net = nn.Sequential(nn.Linear(1, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(),
                        nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(),
                        nn.Linear(20, 1))

    def seed_predict_deterministic():
        with torch.no_grad():
            for _ in range(1000):
                net(grid)

    run("seed_predict_deterministic", seed_predict_deterministic)

    model = seed_mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

    def seed_step_10_samples():
        optimizer.zero_grad(set_to_none=True)
        draws = torch.stack([model(batch_x) for _ in range(10)])
        (F.mse_loss(draws, batch_y.expand(10, 64, 1)) + 0.1 * model.kl("mean")).backward()
        optimizer.step()

    run("bbb_seed_step_10_samples", seed_step_10_samples)

    model = BayesMLP(BayesLinear(784, 1200), nn.ReLU(), BayesLinear(1200, 1200), nn.ReLU(),
                     BayesLinear(1200, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    images, labels = torch.rand(128, 784), torch.randint(0, 10, (128,))

    def mlp_step():
        optimizer.zero_grad(set_to_none=True)
        (F.cross_entropy(model(images), labels) + model.kl() / 60000.0).backward()
        optimizer.step()

    run("bbb_mlp_784_1200_1200_10", mlp_step)


if __name__ == "__main__":
    main()
