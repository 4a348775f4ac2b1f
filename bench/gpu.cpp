// GPU benchmarks (built with the CUDA backend only; run by scripts/gpu-check, not by bench/run).
// peers/gpu.py runs the same workloads with PyTorch on the same GPU. Timings end with a
// synchronization after each timed batch (bench::measure's sync), so they include the GPU's work.
//
// Workloads (float32, on cuda:0; one iteration = one training step on a fixed batch):
//   gpu_mlp_784_1200_1200_10      MLP 784-1200-1200-10, ReLU, batch 128, cross-entropy, Adam(1e-3)
//   gpu_bbb_mlp_784_1200_1200_10  its Bayes by Backprop version (bench/bayes_by_backprop.cpp):
//                                 loss cross-entropy + KL / 60000, Adam(1e-3)
//   gpu_bbb_seed_step             torchbayesian's example (MLP 1-20-20-20-20-1, batch 64, MSE +
//                                 0.1 * mean KL, Adam(1e-2)): launch overhead dominates
//   gpu_gemm_4096                 c = a.mm(b) for 4096 x 4096 operands, GFLOP/s; the line also
//                                 carries what cuBLAS gives when called directly on the same
//                                 buffers (cublas_gflops) and our share of it (of_cublas)
//
// The goals (issue 5): the steps at least 1.0x PyTorch (2x for the seed step), GEMM at least 90%
// of cuBLAS.

#include <bg/bg.h>
#include <bg/core/tensor_impl.h>
#include <cublas_v2.h>

#include <cstdio>
#include <cstdlib>

#include "bench_util.h"

namespace nn = bg::nn;
namespace bayes = bg::bayes;

namespace {

const bg::Device kGpu = bg::Device::cuda();

void sync() { bg::cuda::synchronize(); }

template <typename Fn>
void run(const bench::Args& args, const char* name, double goal_ratio, Fn&& fn) {
  if (!args.wants(name)) return;
  bench::Report report(name, args);
  report.us_per_iter(bench::measure(args, fn, sync)).field("goal_min_ratio", goal_ratio).print();
}

nn::Sequential mlp_784() {
  return nn::Sequential(nn::Linear(784, 1200), nn::ReLU(), nn::Linear(1200, 1200), nn::ReLU(),
                        nn::Linear(1200, 10));
}

nn::Sequential seed_mlp() {
  return nn::Sequential(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                        nn::Linear(20, 20), nn::ReLU(), nn::Linear(20, 20), nn::ReLU(),
                        nn::Linear(20, 1));
}

void check(cublasStatus_t status) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "gpu_gemm_4096: cuBLAS error %d\n", static_cast<int>(status));
    std::exit(1);
  }
}

void gemm(const bench::Args& args) {
  constexpr int64_t kN = 4096;
  constexpr double kFlops = 2.0 * kN * kN * kN;
  if (!args.wants("gpu_gemm_4096")) return;
  const bg::Tensor a = bg::randn({kN, kN}, kGpu), b = bg::randn({kN, kN}, kGpu);
  bg::Tensor c = a.mm(b);
  // A timing of a wrong product means nothing: check a few rows against float64 on the CPU.
  const bg::Tensor rows = a.narrow(0, 0, 4).cpu().to(bg::kFloat64);
  const bg::Tensor expected = rows.mm(b.cpu().to(bg::kFloat64));
  const double max_error = (c.narrow(0, 0, 4).cpu() - expected).abs().max().item<double>();
  if (max_error > 1e-2) {
    std::fprintf(stderr, "gpu_gemm_4096: wrong product (max error %g)\n", max_error);
    std::exit(1);
  }
  const bench::Timing ours = bench::measure(
      args, [&] { (void)a.mm(b); }, sync);
  // cuBLAS directly, on the same buffers: row-major C = A B as column-major C^T = B^T A^T.
  cublasHandle_t handle;
  check(cublasCreate(&handle));
  const float one = 1.0f, zero = 0.0f;
  const auto* pa = static_cast<const float*>(a.impl()->data());
  const auto* pb = static_cast<const float*>(b.impl()->data());
  auto* pc = static_cast<float*>(c.impl()->data());
  const bench::Timing direct = bench::measure(
      args,
      [&] {
        check(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, kN, kN, kN, &one, pb, kN, pa, kN, &zero,
                          pc, kN));
      },
      [] { cudaDeviceSynchronize(); });
  cublasDestroy(handle);
  const double cublas_gflops = kFlops / direct.median * 1e-9;
  bench::Report report("gpu_gemm_4096", args);
  report.gflops(kFlops, ours)
      .field("cublas_gflops", cublas_gflops)
      .field("of_cublas", kFlops / ours.median * 1e-9 / cublas_gflops)
      .field("goal_min_of_cublas", 0.9)
      .print();
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv);
  if (!bg::cuda::is_available()) {
    std::fprintf(stderr, "bench_gpu: no CUDA device is available\n");
    return 1;
  }
  bg::manual_seed(0);

  {
    nn::Sequential mlp = mlp_784();
    mlp->to(kGpu);
    bg::optim::Adam optimizer(mlp->parameters(), bg::optim::AdamOptions(1e-3));
    const bg::Tensor images = bg::rand({128, 784}, kGpu), labels = bg::randint(0, 10, {128}, kGpu);
    run(args, "gpu_mlp_784_1200_1200_10", 1.0, [&] {
      optimizer.zero_grad();
      nn::functional::cross_entropy(mlp(images), labels).backward();
      optimizer.step();
    });
  }

  {
    bayes::BayesianModule bnn(mlp_784());
    bnn->to(kGpu);
    bg::optim::Adam optimizer(bnn->parameters(), bg::optim::AdamOptions(1e-3));
    const bg::Tensor images = bg::rand({128, 784}, kGpu), labels = bg::randint(0, 10, {128}, kGpu);
    run(args, "gpu_bbb_mlp_784_1200_1200_10", 1.0, [&] {
      optimizer.zero_grad();
      (nn::functional::cross_entropy(bnn(images), labels) + bnn->kl_divergence() / 60000.0)
          .backward();
      optimizer.step();
    });
  }

  {
    bayes::BayesianModule bnn(seed_mlp());
    bnn->to(kGpu);
    bg::optim::Adam optimizer(bnn->parameters(), bg::optim::AdamOptions(1e-2));
    const bg::Tensor x = bg::linspace(-5, 5, 64, kGpu).unsqueeze(1);
    const bg::Tensor y = (x * 1.5).sin();
    run(args, "gpu_bbb_seed_step", 2.0, [&] {
      optimizer.zero_grad();
      (nn::functional::mse_loss(bnn(x), y) + 0.1 * bnn->kl_divergence({bayes::KLReduction::Mean}))
          .backward();
      optimizer.step();
    });
  }

  gemm(args);
}
