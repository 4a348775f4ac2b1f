// Elementwise math on a million float32 values: the vectorized unary kernels (Note [Elementwise
// math], core/src/cpu/elementwise_math.h). peers/unary_ops.py runs the same workloads in PyTorch.
//
// Workloads (one iteration each: y = op(x), a new y each time, no autograd):
//   unary_NAME_1m   x: 2^20 float32 values, contiguous, drawn from N(0, 3^2) (for log and log1p,
//                   U(0, 10))
// for NAME in exp, log, log1p, sin, tanh, sigmoid, erf, gelu, silu, softplus.

#include <bg/core.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.h"

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv);
  bg::set_num_threads(args.threads);
  bg::manual_seed(0);

  constexpr int64_t kSize = int64_t{1} << 20;
  const bg::Tensor normal = bg::randn({kSize}) * 3;
  const bg::Tensor positive = bg::rand({kSize}) * 10;
  using Op = std::function<bg::Tensor(const bg::Tensor&)>;
  const std::vector<std::pair<std::string, Op>> ops = {
      {"exp", [](const bg::Tensor& x) { return bg::exp(x); }},
      {"log", [](const bg::Tensor& x) { return bg::log(x); }},
      {"log1p", [](const bg::Tensor& x) { return bg::log1p(x); }},
      {"sin", [](const bg::Tensor& x) { return bg::sin(x); }},
      {"tanh", [](const bg::Tensor& x) { return bg::tanh(x); }},
      {"sigmoid", [](const bg::Tensor& x) { return bg::sigmoid(x); }},
      {"erf", [](const bg::Tensor& x) { return bg::erf(x); }},
      {"gelu", [](const bg::Tensor& x) { return bg::gelu(x); }},
      {"silu", [](const bg::Tensor& x) { return bg::silu(x); }},
      {"softplus", [](const bg::Tensor& x) { return bg::softplus(x); }},
  };
  for (const auto& entry : ops) {
    const auto& name = entry.first;  // not [name, op]: clang 14 cannot capture bindings
    const auto& op = entry.second;
    const std::string bench = "unary_" + name + "_1m";
    if (!args.wants(bench)) continue;
    const bg::Tensor& x = name == "log" || name == "log1p" ? positive : normal;
    bench::Report(bench, args).us_per_iter(bench::measure(args, [&] { (void)op(x); })).print();
  }
}
