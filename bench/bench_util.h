#pragma once
// What every benchmark program shares: the command line, the timing protocol and the JSON line it
// prints per measurement. bench/peers/bench_util.py is the Python twin used by the PyTorch peers;
// keep the two in step so both sides are measured the same way.
//
// Command line: `--threads N` (default 1), `--quick` (a short smoke run: fewer, shorter repeats)
// and `--only TEXT` (run only the measurements whose name contains TEXT, to profile one of them).
//
// Timing protocol (Note [Timing protocol]):
//   1. warm up: call the workload for kWarmupSeconds;
//   2. calibrate: double the iteration count until one batch takes kCalibrateSeconds, and size a
//      repeat to take about kRepeatSeconds;
//   3. time kRepeats repeats of that many iterations; the figure is the median repeat, and the
//      spread (max - min) / median says how noisy the machine was.
//
// Output: one JSON object per line, e.g.
//   {"bench":"gemm_1024","impl":"bayesgrad","threads":2,"cpu_kernels":"avx512","gflops":95.1,...,
//    "peak_rss_mb":22.4}
// cpu_kernels is the copy of the CPU backend that ran (bg::cpu_kernels()); PyTorch's lines lack it.
// peak_rss_mb is the process's peak resident memory so far (getrusage's ru_maxrss).

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <bg/core/backend.h>

namespace bench {

struct Args {
  int threads = 1;
  bool quick = false;
  std::string only;

  /// Whether the measurement `bench` was asked for (see --only).
  bool wants(std::string_view bench) const { return bench.find(only) != std::string_view::npos; }
};

inline Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      args.threads = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      args.quick = true;
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      args.only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--threads N] [--quick] [--only TEXT]\n", argv[0]);
      std::exit(2);
    }
  }
  if (args.threads < 1) {
    std::fprintf(stderr, "%s: --threads must be at least 1\n", argv[0]);
    std::exit(2);
  }
  return args;
}

/// Seconds per iteration over the timed repeats.
struct Timing {
  double median = 0, min = 0, max = 0;
  int repeats = 0;
  int64_t iters_per_repeat = 0;
};

namespace detail {
using Clock = std::chrono::steady_clock;

template <typename Fn, typename Sync>
double seconds_for(int64_t iters, Fn& fn, Sync& sync) {
  const auto start = Clock::now();
  for (int64_t i = 0; i < iters; ++i) fn();
  sync();
  return std::chrono::duration<double>(Clock::now() - start).count();
}
}  // namespace detail

/// For CPU work, which is done when fn() returns.
struct NoSync {
  void operator()() const {}
};

/// Times `fn` with the protocol above (Note [Timing protocol]). `sync` waits for work `fn` only
/// queued (GPU kernels: bg::cuda::synchronize); it runs once after each timed batch, so the
/// figure includes the work without a wait per iteration.
template <typename Fn, typename Sync = NoSync>
Timing measure(const Args& args, Fn&& fn, Sync sync = {}) {
  const double warmup_s = args.quick ? 0.02 : 0.2;
  const double calibrate_s = args.quick ? 0.01 : 0.05;
  const double repeat_s = args.quick ? 0.02 : 0.1;
  const int repeats = args.quick ? 3 : 7;  // odd, so the median is one measured repeat

  const auto warmup_end = detail::Clock::now() + std::chrono::duration<double>(warmup_s);
  do {
    fn();
    sync();
  } while (detail::Clock::now() < warmup_end);

  int64_t iters = 1;
  double elapsed = detail::seconds_for(iters, fn, sync);
  while (elapsed < calibrate_s) {
    iters *= 2;
    elapsed = detail::seconds_for(iters, fn, sync);
  }
  const int64_t per_repeat =
      std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(iters) * repeat_s / elapsed));

  std::vector<double> per_iter;
  for (int r = 0; r < repeats; ++r) {
    per_iter.push_back(detail::seconds_for(per_repeat, fn, sync) / static_cast<double>(per_repeat));
  }
  std::sort(per_iter.begin(), per_iter.end());
  return {per_iter[per_iter.size() / 2], per_iter.front(), per_iter.back(), repeats, per_repeat};
}

inline double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

/// One measurement, printed as one JSON line.
class Report {
 public:
  Report(std::string_view bench, const Args& args, std::string_view impl = "bayesgrad") {
    field("bench", bench).field("impl", impl).field("threads", args.threads);
    if (impl != "machine") field("cpu_kernels", bg::cpu_kernels());
  }

  Report& field(std::string_view key, std::string_view value) {
    std::string quoted = "\"";
    for (char c : value) {
      if (c == '"' || c == '\\') quoted += '\\';
      quoted += c;
    }
    return raw(key, quoted + "\"");
  }
  Report& field(std::string_view key, const char* value) {
    return field(key, std::string_view(value));
  }
  Report& field(std::string_view key, double value) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.6g", value);
    return raw(key, text);
  }
  Report& field(std::string_view key, int value) { return raw(key, std::to_string(value)); }
  Report& field(std::string_view key, int64_t value) { return raw(key, std::to_string(value)); }

  /// The figure of a latency benchmark: microseconds per iteration.
  Report& us_per_iter(const Timing& t) { return field("us_per_iter", t.median * 1e6).timing(t); }
  /// The figure of a throughput benchmark: `flops` per iteration, as GFLOP/s.
  Report& gflops(double flops, const Timing& t) {
    return field("gflops", flops / t.median * 1e-9).timing(t);
  }
  /// How the figure was measured: the spread of the repeats and their size.
  Report& timing(const Timing& t) {
    return field("spread_pct", (t.max - t.min) / t.median * 100.0)
        .field("repeats", t.repeats)
        .field("iters_per_repeat", t.iters_per_repeat);
  }

  /// Adds peak_rss_mb and prints the line.
  void print() {
    field("peak_rss_mb", peak_rss_mb());
    std::printf("{%s}\n", body_.c_str());
    std::fflush(stdout);
  }

 private:
  Report& raw(std::string_view key, std::string_view json_value) {
    if (!body_.empty()) body_ += ',';
    body_ += '"';
    body_ += key;
    body_ += "\":";
    body_ += json_value;
    return *this;
  }
  std::string body_;
};

}  // namespace bench
