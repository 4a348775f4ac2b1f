"""Elementwise math on a million float32 values in PyTorch: the workloads of bench/unary_ops.cpp
(see its header)."""

import torch
import torch.nn.functional as F

import bench_util


def main():
    args = bench_util.parse_args()
    blas = bench_util.setup_torch(args.threads)
    torch.manual_seed(0)

    size = 1 << 20
    normal = torch.randn(size) * 3
    positive = torch.rand(size) * 10
    ops = [("exp", torch.exp), ("log", torch.log), ("log1p", torch.log1p), ("sin", torch.sin),
           ("tanh", torch.tanh), ("sigmoid", torch.sigmoid), ("erf", torch.erf), ("gelu", F.gelu),
           ("silu", F.silu), ("softplus", F.softplus)]
    for name, op in ops:
        bench = f"unary_{name}_1m"
        if not bench_util.wants(args, bench):
            continue
        x = positive if name in ("log", "log1p") else normal
        report = bench_util.Report(bench, args, **blas)
        report.us_per_iter(bench_util.measure(args, lambda: op(x))).print()


if __name__ == "__main__":
    main()
