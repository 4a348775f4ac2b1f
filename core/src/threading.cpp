#include "bg/core/threading.h"

#include <tbb/info.h>
#include <tbb/task_arena.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include "bg/core/error.h"
#include "cpu/arena.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace bg {

namespace {

// The arena CPU kernels run in, its size and its workers' floating-point mode. set_num_threads and
// set_flush_denormal replace it: work already running in the old one keeps it alive (cpu::arena()
// hands out shared ownership) and finishes there.
struct ArenaState {
  std::mutex mutex;
  std::shared_ptr<tbb::task_arena> arena;
  int threads = 0;
  bool flush_denormal = false;
};

ArenaState& state() {
  static ArenaState s;
  return s;
}

// BG_NUM_THREADS when the environment sets it, else every core TBB sees (affinity included).
int default_threads() {
  const char* text = std::getenv("BG_NUM_THREADS");
  if (text == nullptr || *text == '\0') return tbb::info::default_concurrency();
  int threads = 0;
  const char* end = text + std::strlen(text);
  const auto [stop, error] = std::from_chars(text, end, threads);
  BG_CHECK(error == std::errc() && stop == end && threads >= 1, "BG_NUM_THREADS",
           "expected a whole number of threads, at least 1, got '", text, "'");
  return threads;
}

// The calling thread's floating-point mode for SSE and AVX arithmetic (x86-64's MXCSR), and that
// mode with its flush-to-zero (bit 15: a denormal result becomes 0) and denormals-are-zero (bit 6:
// a denormal operand reads as 0) bits set or cleared.
#if defined(__x86_64__)
unsigned float_mode() { return _mm_getcsr(); }
void set_float_mode(unsigned mode) { _mm_setcsr(mode); }
unsigned with_flush(unsigned mode, bool on) {
  constexpr unsigned kFlushDenormalBits = 0x8040;
  return on ? mode | kFlushDenormalBits : mode & ~kFlushDenormalBits;
}
#else
unsigned float_mode() { return 0; }
void set_float_mode(unsigned) {}
unsigned with_flush(unsigned mode, bool) { return mode; }
#endif

// Called with the state's mutex held. A task arena's workers take the floating-point mode of the
// thread that initializes it (oneTBB's "Floating-point Settings"), so the arena is initialized
// here, with the calling thread briefly in the mode set_flush_denormal chose.
void install_arena(ArenaState& s, int threads) {
  auto arena = std::make_shared<tbb::task_arena>(threads);
  const unsigned caller_mode = float_mode();
  set_float_mode(with_flush(caller_mode, s.flush_denormal));
  arena->initialize();
  set_float_mode(caller_mode);
  s.arena = std::move(arena);
  s.threads = threads;
}

}  // namespace

std::shared_ptr<tbb::task_arena> cpu::arena() {
  ArenaState& s = state();
  std::lock_guard lock(s.mutex);
  if (!s.arena) install_arena(s, default_threads());
  return s.arena;
}

void set_num_threads(int threads) {
  BG_CHECK(threads >= 1, "set_num_threads", "expected at least 1 thread, got ", threads);
  ArenaState& s = state();
  std::lock_guard lock(s.mutex);
  install_arena(s, threads);
}

int get_num_threads() {
  (void)cpu::arena();  // the default, on first use
  ArenaState& s = state();
  std::lock_guard lock(s.mutex);
  return s.threads;
}

bool set_flush_denormal(bool on) {
#if defined(__x86_64__)
  set_float_mode(with_flush(float_mode(), on));
  ArenaState& s = state();
  std::lock_guard lock(s.mutex);
  if (s.flush_denormal != on) {
    s.flush_denormal = on;
    if (s.arena) install_arena(s, s.threads);
  }
  return true;
#else
  (void)on;
  return false;
#endif
}

}  // namespace bg
