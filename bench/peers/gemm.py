"""GEMM throughput in PyTorch: torch.mm on the sizes of bench/gemm.cpp (see its header)."""

import torch

import bench_util

N = 1024


def main():
    args = bench_util.parse_args()
    blas = bench_util.setup_torch(args.threads)
    torch.manual_seed(0)

    a = torch.randn(N, N)
    b = torch.randn(N, N)
    timing = bench_util.measure(args, lambda: torch.mm(a, b))
    bench_util.Report("gemm_1024", args, **blas).gflops(2.0 * N**3, timing).print()


if __name__ == "__main__":
    main()
