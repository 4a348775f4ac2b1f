#pragma once
// Reducer: averages the gradients of a set of parameters across ranks, in buckets, while the
// backward pass is still running (Note [Overlapping the gradient exchange] in reducer.cpp).

#include <memory>
#include <vector>

#include "bg/core.h"
#include "transport.h"

namespace bg::dist::detail {

class Reducer : public std::enable_shared_from_this<Reducer> {
 public:
  /// Buckets `parameters` (floating-point, requiring grad, all on one device: the CPU or this
  /// rank's GPU) in groups of at most `bucket_bytes` and installs a post-accumulate-grad hook on
  /// each. The buckets live on the parameters' device. Every rank must pass the same parameters in
  /// the same order.
  static std::shared_ptr<Reducer> create(std::vector<Tensor> parameters, size_t bucket_bytes);
  Reducer(const Reducer&) = delete;
  Reducer& operator=(const Reducer&) = delete;

  /// Throws if the last backward pass stopped before its exchange finished (it threw), which
  /// leaves the ranks out of step.
  void check_idle() const;

  /// The number of elements of each bucket, in the order they are exchanged.
  std::vector<int64_t> bucket_sizes() const;

 private:
  struct Bucket {
    Tensor flat;                     // the gradients, packed one after the other
    std::vector<size_t> parameters;  // indices into parameters_
    std::vector<int64_t> offsets;    // where each starts in `flat`
    size_t pending = 0;              // parameters whose gradient has not arrived this pass
  };

  Reducer(std::vector<Tensor> parameters, size_t bucket_bytes);
  void install_hooks();
  // The hook: packs parameter `index`'s gradient and starts every bucket that became ready.
  void on_gradient(size_t index);
  void launch_ready_buckets();
  // The end of the backward pass: starts what is left, waits, and writes the averages to .grad.
  void finish();

  std::vector<Tensor> parameters_;
  std::vector<Bucket> buckets_;
  std::vector<size_t> bucket_of_;  // parameter -> bucket
  std::vector<size_t> slot_of_;    // parameter -> its position in the bucket
  std::vector<bool> arrived_;      // parameter -> gradient packed this pass
  size_t next_launch_ = 0;         // buckets start in index order, the same on every rank
  bool pass_running_ = false;
  int world_ = 1;
  // Declared after buckets_, so destroyed first: it may wait for exchanges into their memory.
  std::unique_ptr<Transport> transport_;
};

}  // namespace bg::dist::detail
