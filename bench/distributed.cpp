// Distributed training, measured under mpirun (bench/distributed runs it on 1 and 2 local
// processes):
//
//   allreduce_<N>mb        the sum of a float32 buffer of N MB over the ranks, in place as
//                          gradients are reduced: MPI_Allreduce(MPI_IN_PLACE) called directly on
//                          the raw buffer (impl "mpi") against dist::all_reduce_ on the tensor
//                          holding it (impl "bayesgrad"), which adds the check that the ranks
//                          agree (one small all-gather). Figure: GB/s of buffer reduced (size /
//                          time), and the ratio to MPI (goal: at least 0.9). The *_out_of_place
//                          pair does the same into a new tensor (dist::all_reduce), against MPI
//                          with a separate receive buffer.
//   dp_mlp_784_1200_1200_10  one training step (forward, backward with the gradients averaged over
//                          the ranks by DataParallel, Adam) of the MLP of bench/training_steps, on
//                          a global batch of 128 split over the ranks; us_without_exchange is the
//                          same step of the same per-rank batch without DataParallel.
//
// Timing: every rank runs the same fixed number of iterations (ranks must call the collectives
// together, so each cannot calibrate its own count), the time of a repeat is the slowest rank's,
// the figure is the median of the repeats, and MPI's and our repeats alternate. Rank 0 prints the
// JSON lines (bench_util.h).
//
//   mpirun -np 2 build/release/bench/bench_distributed [--threads N] [--quick] [--only TEXT]

#include <mpi.h>

#include <bg/bg.h>
#include <bg/dist.h>

#include "bench_util.h"

namespace nn = bg::nn;
namespace dist = bg::dist;

namespace {

// Seconds for `iters` calls of `fn`, on the slowest rank.
template <typename Fn>
double timed(int iters, Fn& fn) {
  dist::barrier();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) fn();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  MPI_Allreduce(MPI_IN_PLACE, &seconds, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return seconds;
}

// Seconds per iteration: the median over repeats.
bench::Timing summary(std::vector<double> seconds, int iters) {
  std::sort(seconds.begin(), seconds.end());
  const auto repeats = static_cast<int>(seconds.size());
  return {seconds[seconds.size() / 2] / iters, seconds.front() / iters, seconds.back() / iters,
          repeats, iters};
}

// Times `a` and `b` in alternating repeats, so that drifting load on the machine hits both alike.
template <typename A, typename B>
std::pair<bench::Timing, bench::Timing> paired(int iters, int repeats, A&& a, B&& b) {
  a();  // warm-up: first touch of the buffers, MPI's connection set-up
  b();
  std::vector<double> ta, tb;
  for (int r = 0; r < repeats; ++r) {
    if (r % 2 == 0) {
      ta.push_back(timed(iters, a));
      tb.push_back(timed(iters, b));
    } else {
      tb.push_back(timed(iters, b));
      ta.push_back(timed(iters, a));
    }
  }
  return {summary(ta, iters), summary(tb, iters)};
}

// Seconds per iteration of `fn`.
template <typename Fn>
bench::Timing lockstep(int iters, int repeats, Fn&& fn) {
  fn();
  std::vector<double> seconds;
  for (int r = 0; r < repeats; ++r) seconds.push_back(timed(iters, fn));
  return summary(seconds, iters);
}

void report(const bench::Args& args, const std::string& name, const char* impl,
            const bench::Timing& t, double mb, double ratio) {
  if (dist::rank() != 0) return;
  bench::Report line(name, args, impl);
  line.field("ranks", dist::world_size()).field("mb", mb);
  line.field("gbps", mb * 1e6 / t.median * 1e-9).field("ms", t.median * 1e3);
  if (ratio > 0) line.field("ratio_to_mpi", ratio);
  line.timing(t).print();
}

void allreduce(const bench::Args& args, double mb) {
  const std::string name = "allreduce_" + std::to_string(static_cast<int>(mb)) + "mb";
  if (!args.wants(name)) return;
  const auto n = static_cast<int64_t>(mb * 1e6 / sizeof(float));
  // Zeros: summing them keeps every value finite however many times the buffer is reduced.
  bg::Tensor grad = bg::zeros({n});
  bg::Tensor out = bg::empty({n});
  // About 0.2 s (0.02 s with --quick) of traffic per repeat at 5 GB/s.
  const int iters = std::max(2, static_cast<int>((args.quick ? 100 : 1000) / mb));
  const int repeats = args.quick ? 3 : 7;
  // In place, as gradients are reduced (DataParallel's buckets use the same call).
  const auto [mpi, ours] = paired(
      iters, repeats,
      [&] {
        MPI_Allreduce(MPI_IN_PLACE, grad.data_ptr<float>(), static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
      },
      [&] { dist::all_reduce_(grad); });
  report(args, name, "mpi", mpi, mb, 0);
  report(args, name, "bayesgrad", ours, mb, mpi.median / ours.median);
  // Into a new tensor (dist::all_reduce), against MPI with a separate receive buffer.
  const auto [mpi_out, ours_out] = paired(
      iters, repeats,
      [&] {
        MPI_Allreduce(grad.data_ptr<float>(), out.data_ptr<float>(), static_cast<int>(n), MPI_FLOAT,
                      MPI_SUM, MPI_COMM_WORLD);
      },
      [&] { out = dist::all_reduce(grad); });
  report(args, name, "mpi_out_of_place", mpi_out, mb, 0);
  report(args, name, "bayesgrad_out_of_place", ours_out, mb, mpi_out.median / ours_out.median);
}

void training_step(const bench::Args& args) {
  const char* name = "dp_mlp_784_1200_1200_10";
  if (!args.wants(name)) return;
  const auto mlp = [] {
    bg::manual_seed(0);
    return nn::Sequential(nn::Linear(784, 1200), nn::ReLU(), nn::Linear(1200, 1200), nn::ReLU(),
                          nn::Linear(1200, 10));
  };
  dist::DataParallel model(mlp());
  nn::Sequential local = mlp();  // the same step without the exchange: what communication adds
  bg::optim::Adam optimizer(model->parameters(), bg::optim::AdamOptions(1e-3));
  bg::optim::Adam local_optimizer(local->parameters(), bg::optim::AdamOptions(1e-3));
  const int64_t batch = 128 / dist::world_size();
  const bg::Tensor x = bg::rand({batch, 784});
  const bg::Tensor y = bg::randint(0, 10, {batch});
  const auto [dp, alone] = paired(
      args.quick ? 5 : 30, args.quick ? 3 : 7,
      [&] {
        optimizer.zero_grad();
        nn::functional::cross_entropy(model(x), y).backward();
        optimizer.step();
      },
      [&] {
        local_optimizer.zero_grad();
        nn::functional::cross_entropy(local(x), y).backward();
        local_optimizer.step();
      });
  if (dist::rank() != 0) return;
  bench::Report(name, args)
      .field("ranks", dist::world_size())
      .field("global_batch", batch * dist::world_size())
      .field("examples_per_s", static_cast<double>(batch * dist::world_size()) / dp.median)
      .field("us_without_exchange", alone.median * 1e6)
      .us_per_iter(dp)
      .print();
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv);
  dist::init();
  bg::set_num_threads(args.threads);
  training_step(args);
  if (dist::world_size() > 1) {
    for (double mb : {1.0, 4.0, 16.0, 64.0, 100.0}) allreduce(args, mb);
  }
  return 0;
}
