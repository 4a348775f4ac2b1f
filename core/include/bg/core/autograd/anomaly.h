#pragma once
// Anomaly detection, as PyTorch's torch.autograd.detect_anomaly: finds the backward node where a
// NaN or an infinity first enters the gradients.
//
//   {
//     bg::autograd::DetectAnomalyGuard detect;
//     Tensor loss = model(x).sum();   // nodes recorded now remember the forward op that made them
//     loss.backward();                // throws at the first node returning NaN or inf
//   }
//
// While a guard is alive on a thread, every node recorded on that thread keeps a description of
// the forward op that created it (its inputs, its output and the C++ call stack), and every
// backward pass run on that thread checks the gradients each node returns. The first NaN or
// infinite element throws bg::Error naming the node, the input whose gradient it is, and that
// description. Off by default; off, it costs one test of a thread-local flag per recorded node and
// per node run by backward. On, every gradient is scanned and every node records a call stack:
// for debugging, not for training runs.

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::autograd {

class AnomalyMode {
 public:
  /// True while a DetectAnomalyGuard(true) is the innermost guard on this thread.
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// Turns anomaly detection on (or off) for its lifetime on this thread, then restores the mode it
/// found, like NoGradGuard for grad mode.
class DetectAnomalyGuard {
 public:
  explicit DetectAnomalyGuard(bool enabled = true) : previous_(AnomalyMode::is_enabled()) {
    AnomalyMode::set_enabled(enabled);
  }
  ~DetectAnomalyGuard() { AnomalyMode::set_enabled(previous_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace bg::autograd

BG_API_END
