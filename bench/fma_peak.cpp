// The machine's measured float32 FMA peak, so GFLOP/s figures can be quoted as a fraction of it.
//
// Each of `--threads` threads runs independent chains of vector FMAs (acc = acc * m + c): enough
// chains to cover the FMA latency on every FMA pipe, all in registers, no memory traffic. Flops
// per FMA = 2 * lanes. Compiled with -march=native; uses AVX-512 when the compiler may, else
// AVX2 + FMA. Not a library benchmark: impl is "machine" and there is no PyTorch peer.
//
// Noise from other processes only ever lowers the figure, so the peak is the fastest repeat (not
// the median), and the summary takes the largest over rounds ("aggregate": "max").

#include <immintrin.h>

#include <cstdint>
#include <thread>
#include <vector>

#include "bench_util.h"

namespace {

#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16;
constexpr int kChains = 16;  // 32 vector registers: room for 16 accumulators
constexpr const char* kIsa = "avx512";
inline Vec broadcast(float x) { return _mm512_set1_ps(x); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline float first_lane(Vec v) { return _mm512_cvtss_f32(v); }
#elif defined(__AVX2__) && defined(__FMA__)
using Vec = __m256;
constexpr int kLanes = 8;
constexpr int kChains = 12;  // 16 vector registers: 12 accumulators and the two constants
constexpr const char* kIsa = "avx2";
inline Vec broadcast(float x) { return _mm256_set1_ps(x); }
inline Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline float first_lane(Vec v) { return _mm256_cvtss_f32(v); }
#else
#error "fma_peak needs AVX-512 or AVX2 + FMA (build with -march=native on such a machine)"
#endif

constexpr int64_t kStepsPerCall = int64_t{1} << 20;

// Runs the chains; returns a value that depends on all of them so none can be optimized away.
float fma_chains(float seed) {
  Vec acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = broadcast(seed + static_cast<float>(c));
  const Vec m = broadcast(0.999999f), add = broadcast(1e-6f);
  for (int64_t step = 0; step < kStepsPerCall; ++step) {
    for (int c = 0; c < kChains; ++c) acc[c] = fma(acc[c], m, add);
  }
  float sum = 0;
  for (int c = 0; c < kChains; ++c) sum += first_lane(acc[c]);
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv);
  std::vector<float> sinks(static_cast<size_t>(args.threads));
  const bench::Timing timing = bench::measure(args, [&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < args.threads; ++t) {
      threads.emplace_back([&sinks, t] { sinks[static_cast<size_t>(t)] += fma_chains(1.0f); });
    }
    for (std::thread& thread : threads) thread.join();
  });
  const double flops = 2.0 * kLanes * kChains * static_cast<double>(kStepsPerCall) * args.threads;
  bench::Report("fma_peak", args, "machine")
      .field("gflops", flops / timing.min * 1e-9)
      .timing(timing)
      .field("aggregate", "max")
      .field("isa", kIsa)
      .field("checksum", static_cast<double>(sinks[0]))
      .print();
}
