#pragma once
// Reverse-mode differentiation: backward(), grad(), and a finite-difference gradient checker.

#include <functional>
#include <optional>
#include <vector>

#include "bg/core/api.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg::autograd {

/// Accumulates d(sum of outputs · grad_outputs)/d(leaf) into the `.grad` of every leaf reachable
/// from `outputs`. `grad_outputs` may be empty when every output has one element (then it is 1).
/// Without `retain_graph` the graph's saved tensors are freed, and a second backward through it
/// throws. With `create_graph` the backward pass is itself recorded, so the gradients can be
/// differentiated again (higher-order derivatives); the graph is then kept, as the recorded
/// gradients need it.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

/// Calls `hook(leaf)` after each backward pass has added a gradient into `leaf.grad()`, so the hook
/// sees the accumulated value (PyTorch's register_post_accumulate_grad_hook). Unlike a tensor hook
/// it cannot change the gradient on its way; it reads `.grad` once it is final for this pass, which
/// is the moment distributed training starts sending it. `leaf` must be a leaf requiring grad.
/// autograd::grad() does not touch `.grad` and so runs no such hook.
void register_post_accumulate_grad_hook(const Tensor& leaf,
                                        std::function<void(const Tensor&)> hook);

/// Queues `callback` to run when the backward pass now running has finished its last node, before
/// backward() returns (PyTorch's Variable._execution_engine.queue_callback). Only valid from inside
/// a backward pass (from a hook); callbacks run in the order queued and may queue more. If the pass
/// throws, its queued callbacks are dropped.
void queue_callback(std::function<void()> callback);

/// Options of autograd::grad, with chained setters: `GradOptions().create_graph(true)`.
class GradOptions {
 public:
  /// Keep the graph for another backward pass (default: keep it when create_graph is set).
  GradOptions retain_graph(bool keep) const {
    GradOptions o = *this;
    o.retain_graph_ = keep;
    return o;
  }
  /// Record the backward pass so the returned gradients can be differentiated again.
  GradOptions create_graph(bool create) const {
    GradOptions o = *this;
    o.create_graph_ = create;
    return o;
  }
  /// Return an undefined tensor for an input the outputs do not depend on, instead of throwing.
  GradOptions allow_unused(bool allow) const {
    GradOptions o = *this;
    o.allow_unused_ = allow;
    return o;
  }

  bool retain_graph() const { return retain_graph_.value_or(create_graph_); }
  bool create_graph() const { return create_graph_; }
  bool allow_unused() const { return allow_unused_; }

 private:
  std::optional<bool> retain_graph_;
  bool create_graph_ = false;
  bool allow_unused_ = false;
};

/// Returns d(sum of outputs · grad_outputs)/d(input) for each input, without touching any `.grad`.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, GradOptions options = {});

struct GradcheckOptions {
  /// Step of the central differences.
  double eps = 1e-6;
  /// Allowed difference: |analytic - numeric| <= atol + rtol * |numeric|.
  double atol = 1e-5;
  double rtol = 1e-3;
};

/// Compares the Jacobian autograd computes for `fn` at `inputs` with central finite differences,
/// for every input that requires grad. Inputs must be float64 (they may be non-contiguous views).
/// Returns true, or throws bg::Error naming the input, the output element and both values.
bool gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
               const std::vector<Tensor>& inputs, GradcheckOptions options = {});

/// Checks second derivatives: runs gradcheck on the function x -> grad(fn(x) · v, x) for a fixed
/// random v, which exercises every backward formula under create_graph.
bool gradgradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                   const std::vector<Tensor>& inputs, GradcheckOptions options = {});

}  // namespace bg::autograd

BG_API_END
