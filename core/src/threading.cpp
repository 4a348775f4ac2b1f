#include "bg/core/threading.h"

#include <tbb/global_control.h>
#include <tbb/info.h>

#include <memory>
#include <mutex>

#include "bg/core/error.h"

namespace bg {

namespace {
std::mutex control_mutex;
std::unique_ptr<tbb::global_control> control;
}  // namespace

void set_num_threads(int threads) {
  BG_CHECK(threads >= 1, "set_num_threads", "expected at least 1 thread, got ", threads);
  std::lock_guard lock(control_mutex);
  control.reset();  // only one limit may be active at a time
  control = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                  static_cast<size_t>(threads));
}

int get_num_threads() {
  return static_cast<int>(
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}

}  // namespace bg
