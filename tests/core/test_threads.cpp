// Thread determinism (threading.h): every op gives bitwise the same result on 1 thread and on 2.
// The inputs span many parallel chunks (kElementwiseGrain is 32768 elements), so a result that
// depended on how chunks are spread over threads would show here.

#include <tbb/info.h>
#include <tbb/parallel_for.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

using namespace bg;

namespace {

// Restores the thread count a test found, so other suites are unaffected.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(get_num_threads()) {}
  ~ThreadCountGuard() { set_num_threads(saved_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int saved_;
};

// The tensors `compute` returns on 1 thread and on 2 threads are identical.
void check_thread_independent(const std::function<std::vector<Tensor>()>& compute) {
  const ThreadCountGuard guard;
  set_num_threads(1);
  const std::vector<Tensor> one = compute();
  set_num_threads(2);
  const std::vector<Tensor> two = compute();
  REQUIRE(one.size() == two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result ", i, ": ", describe(one[i]));
    CHECK(equal(one[i], two[i]));
  }
}

// N(0, 1) draws of the given sizes, from a generator of their own.
Tensor normal(const Shape& sizes, Dtype dtype, uint64_t seed) {
  Generator generator(seed);
  return randn(sizes, dtype, &generator);
}

}  // namespace

TEST_CASE("threads: set_num_threads and get_num_threads") {
  const ThreadCountGuard guard;
  CHECK(get_num_threads() >= 1);
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
  set_num_threads(2);
  CHECK(get_num_threads() == 2);
  CHECK_THROWS_WITH_AS(set_num_threads(0),
                       doctest::Contains("set_num_threads: expected at least 1 thread, got 0"),
                       Error);
  CHECK_THROWS_AS(set_num_threads(-3), Error);
  CHECK(get_num_threads() == 2);  // a rejected count changes nothing
}

TEST_CASE("threads: set_num_threads leaves the application's own TBB work alone") {
  if (tbb::info::default_concurrency() < 2) {
    MESSAGE("skipped: one core");
    return;
  }
  const ThreadCountGuard guard;
  set_num_threads(1);
  const Tensor x = normal({1 << 18}, kFloat32, 0);
  CHECK(equal((x * 2).sum(), x.sum() * 2));  // bayesgrad works, on its one thread
  // Two tasks of the application's own parallel_for, each waiting for the other to start: they
  // meet only if they run on two threads at once, which a process-wide cap of one thread (such as
  // tbb::global_control) would forbid; then each would give up after 60 s.
  std::atomic<int> started{0};
  std::atomic<bool> met{true};
  tbb::parallel_for(0, 2, [&](int) {
    ++started;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (started.load() < 2) {
      if (std::chrono::steady_clock::now() > deadline) {
        met = false;
        return;
      }
      std::this_thread::yield();
    }
  });
  CHECK(met);
  CHECK(get_num_threads() == 1);
}

// The environment's default, as ctest runs this case: with BG_NUM_THREADS=3, and with a value that
// is not a number (tests/core/CMakeLists.txt). In the full suite, set_num_threads has run before.
TEST_CASE("threads: BG_NUM_THREADS sets the default") {
  const char* text = std::getenv("BG_NUM_THREADS");
  const std::string value = text != nullptr ? text : "";
  if (value.empty()) {
    CHECK(get_num_threads() >= 1);
  } else if (value.find_first_not_of("0123456789") == std::string::npos) {
    CHECK(get_num_threads() == std::stoi(value));
  } else {
    test::check_error(
        {"BG_NUM_THREADS: expected a whole number of threads, at least 1, got '" + value + "'"},
        [] { (void)get_num_threads(); });
  }
}

TEST_CASE("threads: unary math") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    const Tensor x = normal({1 << 19}, dtype, 1) * 3;
    check_thread_independent([&] {
      return std::vector<Tensor>{exp(x), tanh(x), sigmoid(x), softplus(x), gelu(x)};
    });
  }
}

TEST_CASE("threads: binary ops with broadcasting") {
  const Tensor a = normal({1024, 512}, kFloat32, 2);
  const Tensor row = normal({512}, kFloat32, 3);
  const Tensor column = normal({1024, 1}, kFloat64, 4);
  const Tensor b = normal({512, 1024}, kFloat32, 5).t();  // non-contiguous
  check_thread_independent([&] {
    return std::vector<Tensor>{a + row,       a * column, a / (row.abs() + 1),
                               maximum(a, b), a - b * 2,  a.abs().pow(2.5),
                               a < row};
  });
}

TEST_CASE("threads: reductions over all dims, dim 0 and the last dim") {
  const Tensor x = normal({1024, 768}, kFloat32, 6);
  // Factors near 1, so that the product of all of them stays finite and nonzero.
  const Tensor near_one = normal({1024, 768}, kFloat64, 7) * 1e-3 + 1;
  const Tensor line = normal({1 << 20}, kFloat32, 8);
  check_thread_independent([&] {
    return std::vector<Tensor>{x.sum(),    x.mean(),    x.max(),      near_one.prod(),
                               x.sum(0),   x.mean(0),   x.max(0),     near_one.prod(0),
                               x.sum(-1),  x.mean(-1),  x.max(-1),    near_one.prod(-1),
                               line.sum(), line.mean(), x.var(),      x.t().sum(-1),
                               x.argmax(), x.argmax(0), x.argmax(-1), line.argmin()};
  });
}

TEST_CASE("threads: softmax and log_softmax") {
  const Tensor x = normal({512, 1024}, kFloat32, 9);
  check_thread_independent([&] {
    return std::vector<Tensor>{x.softmax(-1), x.softmax(0), x.log_softmax(-1), x.log_softmax(0)};
  });
}

TEST_CASE("threads: matmul") {
  const Tensor a = normal({512, 512}, kFloat32, 10);
  const Tensor b = normal({512, 512}, kFloat32, 11);
  const Tensor batch_a = normal({8, 128, 256}, kFloat64, 12);
  const Tensor batch_b = normal({8, 256, 128}, kFloat64, 13);
  const Tensor shared = normal({256, 64}, kFloat64, 22);  // broadcast over the batch
  check_thread_independent([&] {
    return std::vector<Tensor>{matmul(a, b), matmul(a.t(), b), bmm(batch_a, batch_b),
                               matmul(batch_a, shared)};
  });
}

TEST_CASE("threads: index_select, gather and the accumulating index ops") {
  const Tensor x = normal({4096, 128}, kFloat32, 14);
  Generator g(15);
  const Tensor rows = randint(0, 4096, {3000}, {}, &g);  // repeats rows
  const Tensor columns = randint(0, 128, {4096, 96}, {}, &g);
  const Tensor few = randint(0, 16, {4096}, {}, &g);  // many repeats: sums order-sensitive
  const Tensor source = normal({4096, 128}, kFloat32, 16);
  check_thread_independent([&] {
    return std::vector<Tensor>{
        x.index_select(0, rows), x.index_select(1, columns[0]), x.gather(1, columns),
        index_add(zeros({16, 128}), 0, few, source),
        scatter_add(zeros({16, 128}), 0, few.unsqueeze(1).expand({4096, 128}).contiguous(),
                    source)};
  });
}

TEST_CASE("threads: random fills with the same seed") {
  check_thread_independent([] {
    Generator g(17);
    return std::vector<Tensor>{rand({1 << 19}, kFloat32, &g),
                               rand({300001}, kFloat64, &g),
                               randn({1 << 19}, kFloat32, &g),
                               randn({300001}, kFloat64, &g),
                               randint(-5, 1000, {300001}, {}, &g),
                               zeros({700, 700}).t().uniform_(-1, 1, &g),
                               zeros({700, 700}, kFloat64).normal_(2, 3, &g)};
  });
}

TEST_CASE("threads: forward and backward of a small MLP") {
  const Tensor input = normal({2048, 64}, kFloat32, 18);
  Generator g(19);
  const Tensor labels = randint(0, 10, {2048}, {}, &g);
  check_thread_independent([&] {
    Tensor w1 = (normal({64, 256}, kFloat32, 20) * 0.125).requires_grad_();
    Tensor b1 = zeros({256}, requires_grad());
    Tensor w2 = (normal({256, 10}, kFloat32, 21) * 0.0625).requires_grad_();
    Tensor b2 = zeros({10}, requires_grad());
    const Tensor hidden = gelu(matmul(input, w1) + b1);
    const Tensor log_probs = (matmul(hidden, w2) + b2).log_softmax(1);
    const Tensor loss = -log_probs.gather(1, labels.unsqueeze(1)).mean();
    loss.backward();
    return std::vector<Tensor>{loss.detach(), w1.grad(), b1.grad(), w2.grad(), b2.grad()};
  });
}

// set_flush_denormal reaches the calling thread (a tensor of one parallel chunk runs inline) and
// the workers (one of many chunks, on 2 threads), and turning it off restores gradual underflow.
TEST_CASE("threads: set_flush_denormal") {
#if defined(__x86_64__)
  const ThreadCountGuard guard;
  set_num_threads(2);
  const float smallest_normal = std::numeric_limits<float>::min();
  const float denormal = smallest_normal / 4;
  for (int64_t n : {int64_t{64}, int64_t{1} << 18}) {
    INFO("n = ", n);
    const Tensor normal_values = full({n}, smallest_normal);
    const Tensor denormal_values = full({n}, denormal);  // made with the default mode
    REQUIRE(set_flush_denormal(true));
    const Tensor underflowed = normal_values / 4;        // a denormal result flushed to 0 (FTZ)
    const Tensor read_as_zero = denormal_values + 0.0f;  // a denormal operand read as 0 (DAZ)
    set_num_threads(2);                                  // a new arena keeps the mode
    const Tensor underflowed_after = normal_values / 4;
    REQUIRE(set_flush_denormal(false));
    CHECK(equal(underflowed, zeros({n})));
    CHECK(equal(read_as_zero, zeros({n})));
    CHECK(equal(underflowed_after, zeros({n})));
    CHECK(equal(normal_values / 4, denormal_values));  // gradual underflow again
    CHECK(equal(denormal_values + 0.0f, denormal_values));
  }
  // Making an arena leaves the caller's own mode as it was, bit for bit (here FTZ without DAZ).
  const unsigned mode = _mm_getcsr();
  _mm_setcsr(mode | 0x8000);
  set_num_threads(2);
  CHECK(_mm_getcsr() == (mode | 0x8000));
  _mm_setcsr(mode);
#else
  CHECK_FALSE(set_flush_denormal(true));
#endif
}
