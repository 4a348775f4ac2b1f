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

namespace bg {

namespace {

// The arena CPU kernels run in, and its size. set_num_threads replaces it: work already running in
// the old one keeps it alive (cpu::arena() hands out shared ownership) and finishes there.
struct ArenaState {
  std::mutex mutex;
  std::shared_ptr<tbb::task_arena> arena;
  int threads = 0;
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

// Called with the state's mutex held.
void install_arena(ArenaState& s, int threads) {
  s.arena = std::make_shared<tbb::task_arena>(threads);
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

}  // namespace bg
