// Collectives: results on every rank, and errors that every rank reports alike.

#include <bg/dist.h>

#include "gpu.h"
#include "test_util.h"

using namespace bg;
using namespace bg::test;

namespace {
// 1, 2, ... on rank 0; 10, 20, ... on rank 1; and so on: each rank's values are told apart.
Tensor rank_values(const Shape& sizes, Dtype dtype = kFloat32) {
  return ((arange(numel_of(sizes), kFloat64) + 1) * std::pow(10.0, dist::rank()))
      .reshape(sizes)
      .to(dtype);
}
// What the sum of rank_values over all ranks is: (1 + 10 + 100 + ...) times 1, 2, ...
double rank_factor_sum() {
  double sum = 0;
  for (int r = 0; r < dist::world_size(); ++r) sum += std::pow(10.0, r);
  return sum;
}
}  // namespace

TEST_CASE("the job has the ranks mpirun started") {
  CHECK(dist::is_initialized());
  CHECK(dist::world_size() == 2);
  CHECK(dist::rank() >= 0);
  CHECK(dist::rank() < dist::world_size());
  dist::barrier();
}

TEST_CASE("all_reduce: sum, mean and max, of float32, float64 and int64") {
  const double f = rank_factor_sum();
  const int world = dist::world_size();
  Tensor x = rank_values({2, 3});
  check_close(dist::all_reduce(x), {f, 2 * f, 3 * f, 4 * f, 5 * f, 6 * f}, 1e-6, 0);
  check_close(
      dist::all_reduce(x, dist::ReduceOp::Mean),
      {f / world, 2 * f / world, 3 * f / world, 4 * f / world, 5 * f / world, 6 * f / world}, 1e-6,
      0);
  const double top = std::pow(10.0, world - 1);
  check_close(dist::all_reduce(rank_values({3}, kFloat64), dist::ReduceOp::Max),
              {top, 2 * top, 3 * top}, 0, 0);
  CHECK(ints(dist::all_reduce(rank_values({2}, kInt64))) ==
        std::vector<int64_t>{static_cast<int64_t>(f), static_cast<int64_t>(2 * f)});
  CHECK(values(x) == values(rank_values({2, 3})));  // the input is unchanged
}

TEST_CASE("all_reduce_ reduces in place, also into a non-contiguous view") {
  const double f = rank_factor_sum();
  Tensor x = rank_values({2, 2}, kFloat64);
  const uint32_t version = x.version();
  dist::all_reduce_(x);
  check_close(x, {f, 2 * f, 3 * f, 4 * f}, 0, 0);
  CHECK(x.version() > version);
  Tensor t = rank_values({2, 2}, kFloat64).t();  // [[1, 3], [2, 4]] times 10^rank
  dist::all_reduce_(t);
  check_close(t, {f, 3 * f, 2 * f, 4 * f}, 0, 0);
}

TEST_CASE("broadcast and broadcast_ copy the root's tensor to every rank") {
  Tensor x = rank_values({3});
  check_close(dist::broadcast(x, 1), {10, 20, 30}, 0, 0);
  check_close(x, values(rank_values({3})), 0, 0);
  dist::broadcast_(x, 0);
  check_close(x, {1, 2, 3}, 0, 0);
}

TEST_CASE("all_gather stacks every rank's tensor; reduce_scatter hands out chunks of the sum") {
  Tensor gathered = dist::all_gather(rank_values({2}, kInt64));
  CHECK(gathered.sizes() == Shape{2, 2});
  CHECK(ints(gathered) == std::vector<int64_t>{1, 2, 10, 20});
  // [4, 2] per rank -> [2, 2] per rank: rank r gets rows 2r, 2r + 1 of the sum.
  const double f = rank_factor_sum();
  Tensor mine = dist::reduce_scatter(rank_values({4, 2}, kFloat64));
  CHECK(mine.sizes() == Shape{2, 2});
  const double first = 4.0 * dist::rank() + 1;
  check_close(mine, {first * f, (first + 1) * f, (first + 2) * f, (first + 3) * f}, 0, 0);
  check_close(dist::reduce_scatter(rank_values({2}, kFloat64), dist::ReduceOp::Mean),
              {(dist::rank() + 1) * f / 2}, 1e-12, 0);
}

TEST_CASE("tensors that differ across ranks are an error on every rank, naming each rank's") {
  // Rank 1 passes [4] where rank 0 passes [2, 3]: both ranks throw, no data moves, no hang.
  Tensor x = dist::rank() == 0 ? zeros({2, 3}) : zeros({4});
  CHECK_THROWS_WITH_AS(
      dist::all_reduce(x),
      doctest::Contains("rank 0 called all_reduce(sum) of float32 [2, 3] on "
                        "cpu; rank 1 called all_reduce(sum) of float32 [4] on cpu"),
      Error);
  Tensor y = dist::rank() == 0 ? zeros({2}) : zeros({2}, kFloat64);
  CHECK_THROWS_WITH_AS(dist::broadcast_(y, 0), doctest::Contains("of float64 [2] on cpu"), Error);
  // Different collectives: one rank gathers while the other reduces.
  Tensor z = zeros({2});
  CHECK_THROWS_WITH_AS(dist::rank() == 0 ? dist::all_gather(z) : dist::all_reduce(z),
                       doctest::Contains("the ranks disagree"), Error);
  // The job goes on: the next collective works.
  check_close(dist::all_reduce(ones({1})), {2}, 0, 0);
}

TEST_CASE("errors the ranks agree on are thrown on every rank") {
  CHECK_THROWS_WITH_AS(dist::all_reduce(ones({2}, kInt64), dist::ReduceOp::Mean),
                       doctest::Contains("the mean needs a float32 or float64 tensor"), Error);
  CHECK_THROWS_WITH_AS(dist::reduce_scatter(ones({3})),
                       doctest::Contains("must split evenly over the 2 ranks"), Error);
  Tensor x = ones({2});
  CHECK_THROWS_WITH_AS(dist::broadcast_(x, 5), doctest::Contains("root 5 is not a rank"), Error);
  CHECK_THROWS_WITH_AS(dist::all_reduce(Tensor()), doctest::Contains("undefined"), Error);
  Tensor w = ones({2}).requires_grad_();
  CHECK_THROWS_WITH_AS(dist::all_reduce_(w), doctest::Contains("wrap it in a NoGradGuard"), Error);
  NoGradGuard no_grad;
  check_close(dist::all_reduce_(w), {2, 2}, 0, 0);
}

// CUDA tensors go through NCCL when the build has it (BG_DIST_NCCL, distributed/CMakeLists.txt).
#ifdef BG_DIST_NCCL

TEST_CASE("CUDA tensors: every collective runs over NCCL and leaves its result on the GPU") {
  if (!gpu_per_rank()) return;
  const Device gpu = rank_gpu();
  const double f = rank_factor_sum();
  const int world = dist::world_size();
  const Tensor x = rank_values({2, 3}).to(gpu);
  const Tensor sum = dist::all_reduce(x);
  CHECK(sum.device() == gpu);
  check_close(sum.to(kCPU), {f, 2 * f, 3 * f, 4 * f, 5 * f, 6 * f}, 1e-6, 0);
  check_close(
      dist::all_reduce(x, dist::ReduceOp::Mean).to(kCPU),
      {f / world, 2 * f / world, 3 * f / world, 4 * f / world, 5 * f / world, 6 * f / world}, 1e-6,
      0);
  const double top = std::pow(10.0, world - 1);
  check_close(dist::all_reduce(rank_values({3}, kFloat64).to(gpu), dist::ReduceOp::Max).to(kCPU),
              {top, 2 * top, 3 * top}, 0, 0);
  CHECK(ints(dist::all_reduce(rank_values({2}, kInt64).to(gpu)).to(kCPU)) ==
        std::vector<int64_t>{static_cast<int64_t>(f), static_cast<int64_t>(2 * f)});

  // In place, into a non-contiguous view (a contiguous copy is reduced and copied back).
  Tensor t = rank_values({2, 2}, kFloat64).to(gpu).t();
  dist::all_reduce_(t);
  check_close(t.to(kCPU), {f, 3 * f, 2 * f, 4 * f}, 0, 0);

  const int root = world - 1;
  const double scale = std::pow(10.0, root);
  check_close(dist::broadcast(rank_values({3}).to(gpu), root).to(kCPU),
              {scale, 2 * scale, 3 * scale}, 0, 0);

  std::vector<int64_t> gathered;
  for (int r = 0; r < world; ++r) {
    const auto factor = static_cast<int64_t>(std::pow(10.0, r));
    gathered.insert(gathered.end(), {factor, 2 * factor});
  }
  CHECK(ints(dist::all_gather(rank_values({2}, kInt64).to(gpu)).to(kCPU)) == gathered);

  // [2 world, 2] per rank -> [2, 2] per rank: rank r gets rows 2r, 2r + 1 of the sum.
  const Tensor mine = dist::reduce_scatter(rank_values({int64_t{2} * world, 2}, kFloat64).to(gpu));
  CHECK(mine.sizes() == Shape{2, 2});
  const double first = 4.0 * dist::rank() + 1;
  check_close(mine.to(kCPU), {first * f, (first + 1) * f, (first + 2) * f, (first + 3) * f}, 0, 0);
}

TEST_CASE("CUDA tensors that differ across ranks are an error on every rank, before NCCL runs") {
  if (!gpu_per_rank()) return;
  // Each rank's own GPU is not a difference; the shapes are.
  const Tensor x = rank_values({dist::rank() == 0 ? int64_t{2} : int64_t{4}}).to(rank_gpu());
  if (dist::world_size() > 1) {
    CHECK_THROWS_WITH_AS(
        dist::all_reduce(x),
        doctest::Contains("rank 0 called all_reduce(sum) of float32 [2] on cuda:0; "
                          "rank 1 called all_reduce(sum) of float32 [4] on cuda:1"),
        Error);
  }
  check_close(dist::all_reduce(ones({1}, rank_gpu())).to(kCPU), {1.0 * dist::world_size()}, 0, 0);
}

#else

TEST_CASE("CUDA tensors, in a build without NCCL, are an error saying what is missing") {
  if (!cuda::is_available()) {
    MESSAGE("skipped: no GPU");
    return;
  }
  CHECK_THROWS_WITH_AS(dist::all_reduce(ones({2}, Device::cuda())),
                       doctest::Contains("tensors need NCCL, but NCCL was not found"), Error);
}

#endif
