"""Per-op overhead in PyTorch: the workloads of bench/op_overhead.cpp (see its header)."""

import torch

import bench_util


def main():
    args = bench_util.parse_args()
    blas = bench_util.setup_torch(args.threads)
    torch.manual_seed(0)

    def run(name, fn):
        if bench_util.wants(args, name):
            bench_util.Report(name, args, **blas).us_per_iter(bench_util.measure(args, fn)).print()

    a = torch.randn(1, 20).requires_grad_()
    b = torch.randn(1, 20)
    add_grad = torch.ones(1, 20)

    def add_fwd_bwd():
        a.grad = None
        (a + b).backward(add_grad)

    run("add_1x20_fwd_bwd", add_fwd_bwd)
    run("add_1x20_fwd", lambda: a + b)

    x = torch.randn(64, 20)
    w = torch.randn(20, 20).requires_grad_()
    matmul_grad = torch.ones(64, 20)

    def matmul_fwd_bwd():
        w.grad = None
        x.matmul(w).backward(matmul_grad)

    run("matmul_64x20x20_fwd_bwd", matmul_fwd_bwd)
    run("matmul_64x20x20_fwd", lambda: x.matmul(w))


if __name__ == "__main__":
    main()
