#pragma once
// Grad mode: whether ops record the graph. Thread-local, so a NoGradGuard in one thread does not
// affect training in another.

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg {

class GradMode {
 public:
  /// True when ops on tensors that require grad record graph nodes (the default).
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// Sets grad mode for the guard's lifetime, then restores the previous mode.
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled) : previous_(GradMode::is_enabled()) {
    GradMode::set_enabled(enabled);
  }
  ~AutoGradMode() { GradMode::set_enabled(previous_); }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool previous_;
};

/// Disables graph recording in its scope: inference, optimizer steps, initialization.
class NoGradGuard : public AutoGradMode {
 public:
  NoGradGuard() : AutoGradMode(false) {}
};

}  // namespace bg

BG_API_END
