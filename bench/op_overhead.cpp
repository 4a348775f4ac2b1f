// Per-op overhead: one op on tiny tensors, where the arithmetic is nothing and the time is the
// framework's own (argument checks, allocation, graph recording, the backward engine, gradient
// accumulation). peers/op_overhead.py runs the same workloads in PyTorch.
//
// Workloads (float32; one iteration each):
//   add_1x20_fwd_bwd         a [1,20] leaf requiring grad, b [1,20] leaf not requiring grad,
//                            g = ones [1,20]:  a.grad = none; (a + b).backward(g)
//   add_1x20_fwd             c = a + b, the graph recorded and then dropped (no backward)
//   matmul_64x20x20_fwd_bwd  x [64,20] not requiring grad, w [20,20] leaf requiring grad,
//                            g = ones [64,20]: w.grad = none; x.matmul(w).backward(g)
//   matmul_64x20x20_fwd      y = x.matmul(w), the graph recorded and then dropped
// Resetting the gradient each iteration keeps every iteration identical (no growing sums); the
// backward pass then stores a fresh gradient in the leaf, as the first backward of a training step
// does after zero_grad(set_to_none=True).

#include <bg/core.h>

#include "bench_util.h"

namespace {

// The goals of the issue for a forward + backward iteration, in microseconds.
constexpr double kAddGoalUs = 2.0;
constexpr double kMatmulGoalUs = 4.0;

template <typename Fn>
void run(const bench::Args& args, const char* name, Fn&& fn, double goal_us = 0) {
  if (!args.wants(name)) return;
  bench::Report report(name, args);
  report.us_per_iter(bench::measure(args, fn));
  if (goal_us > 0) report.field("goal_max_us", goal_us);
  report.print();
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv);
  bg::set_num_threads(args.threads);
  bg::manual_seed(0);

  bg::Tensor a = bg::randn({1, 20}).requires_grad_();
  const bg::Tensor b = bg::randn({1, 20});
  const bg::Tensor add_grad = bg::ones({1, 20});
  run(
      args, "add_1x20_fwd_bwd",
      [&] {
        a.set_grad({});
        (a + b).backward(add_grad);
      },
      kAddGoalUs);
  run(args, "add_1x20_fwd", [&] { (void)(a + b); });

  const bg::Tensor x = bg::randn({64, 20});
  bg::Tensor w = bg::randn({20, 20}).requires_grad_();
  const bg::Tensor matmul_grad = bg::ones({64, 20});
  run(
      args, "matmul_64x20x20_fwd_bwd",
      [&] {
        w.set_grad({});
        x.matmul(w).backward(matmul_grad);
      },
      kMatmulGoalUs);
  run(args, "matmul_64x20x20_fwd", [&] { (void)x.matmul(w); });
}
