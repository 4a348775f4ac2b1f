#pragma once
// Progress of a long loop, so that an example is never silent for minutes:
//
//   examples::Progress progress("BNN epoch 3/10", loader.num_batches(), "batches");
//   for (...) { ...; progress.step("loss " + std::to_string(loss)); }
//   progress.finish();   // then print the epoch's summary line
//
// On a terminal, one line is rewritten in place (at most ten times a second) with the count, the
// rate and the time left:  "BNN epoch 3/10  234/469 batches  85.3 batches/s  ETA 3 s  loss 0.43".
// When stdout is not a terminal (a pipe, a log file), the same facts go out as plain lines, one
// every ten seconds, each flushed at once.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace examples {

class Progress {
 public:
  /// A loop of `total` steps counted in `unit`; `shown` false keeps it quiet (other ranks of a
  /// distributed job).
  Progress(std::string label, int64_t total, std::string unit, bool shown = true)
      : label_(std::move(label)),
        unit_(std::move(unit)),
        total_(total),
        shown_(shown),
        terminal_(isatty(fileno(stdout)) != 0),
        start_(Clock::now()),
        last_shown_(start_) {}

  /// One more step done; `note` (a running loss, say) is shown beside the count.
  void step(const std::string& note = "") {
    ++done_;
    if (!shown_) return;
    const Clock::time_point now = Clock::now();
    const double since_shown = seconds(last_shown_, now);
    if (since_shown < (terminal_ ? 0.1 : 10.0) && done_ < total_) return;
    last_shown_ = now;
    const double elapsed = seconds(start_, now);
    const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    const double left = rate > 0 ? static_cast<double>(total_ - done_) / rate : 0.0;
    const std::string extra = note.empty() ? "" : "  " + note;
    if (terminal_) {
      // \r goes back to the start of the line, \033[K clears what the last one left beyond it.
      std::printf("\r%s  %lld/%lld %s  %.1f %s/s  ETA %.0f s%s\033[K", label_.c_str(),
                  static_cast<long long>(done_), static_cast<long long>(total_), unit_.c_str(),
                  rate, unit_.c_str(), left, extra.c_str());
      std::fflush(stdout);
    } else if (done_ < total_) {
      std::printf("%s: %lld/%lld %s, %.1f %s/s, ETA %.0f s%s\n", label_.c_str(),
                  static_cast<long long>(done_), static_cast<long long>(total_), unit_.c_str(),
                  rate, unit_.c_str(), left, extra.c_str());
      std::fflush(stdout);
    }
  }

  /// Clears the progress line, so that what is printed next takes its place.
  void finish() {
    if (shown_ && terminal_) {
      std::printf("\r\033[K");
      std::fflush(stdout);
    }
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double>(to - from).count();
  }

  std::string label_, unit_;
  int64_t total_;
  int64_t done_ = 0;
  bool shown_, terminal_;
  Clock::time_point start_, last_shown_;
};

}  // namespace examples
