// Graph construction: saving tensors, connecting nodes, and the leaf accumulator.

#include "bg/core/autograd/node.h"

#include "autograd/accumulate_grad.h"
#include "autograd/anomaly.h"
#include "bg/core/autograd/anomaly.h"
#include "bg/core/autograd/autograd.h"
#include "bg/core/ops.h"
#include "bg/core/tensor_impl.h"
#include "ops/op_utils.h"

namespace bg::autograd {

// ---- Node ---------------------------------------------------------------------------------------

// Note [Graph teardown]
// A node owns the nodes it feeds (next_), so dropping the output of a chain of 100,000 ops would
// destroy 100,000 nodes recursively, one stack frame or more each: enough to overflow the stack.
// Instead, the outermost node destructor running on a thread collects the edges of every node
// destroyed while it runs (nested destructors only hand their edges over) and releases them one
// at a time, so the depth stays constant however long the graph is.
Node::~Node() {
  thread_local Edges* pending = nullptr;
  if (pending != nullptr) {
    for (std::shared_ptr<Node>& edge : next_) {
      if (edge) pending->push_back(std::move(edge));
    }
    return;
  }
  // Edges whose node lives on elsewhere are just dropped; only last owners need the loop.
  Edges releasing;
  for (std::shared_ptr<Node>& edge : next_) {
    if (edge && edge.use_count() == 1) releasing.push_back(std::move(edge));
  }
  if (releasing.empty()) return;
  pending = &releasing;
  while (!releasing.empty()) {
    std::shared_ptr<Node> node = std::move(releasing.back());
    releasing.pop_back();
    node.reset();  // when this was the last owner, its destructor appends its edges
  }
  pending = nullptr;
}

// ---- SavedTensor --------------------------------------------------------------------------------

SavedTensor::SavedTensor(const Tensor& tensor, bool is_output)
    : data_(detail::alias(tensor)),
      version_(tensor.version()),
      is_output_(is_output),
      requires_grad_(tensor.requires_grad()) {
  // An output's history is the node saving it: holding it here would be a reference cycle that
  // leaks the graph, so unpack() re-attaches it from `owner` instead.
  if (requires_grad_ && !is_output) history_ = gradient_edge(tensor);
}

Tensor SavedTensor::unpack(const Node& owner) const {
  BG_CHECK(!released_, owner.name(),
           "trying to backward through the graph a second time (or to read saved tensors after "
           "they were freed). Pass retain_graph=true to the first backward() if you need to "
           "backward through the graph again");
  BG_CHECK(data_.version() == version_, owner.name(), "a tensor it saved for backward (",
           describe(data_), ") was modified by an in-place operation: it is at version ",
           data_.version(), ", expected version ", version_,
           ". Use an out-of-place op (x = x * 2 instead of x.mul_(2)) or clone() before modifying");
  if (!requires_grad_) return data_;
  // Give the snapshot its place in the graph, so that create_graph differentiates through it.
  Tensor out = detail::alias(data_);
  AutogradMeta& meta = out.impl()->autograd_or_create();
  meta.requires_grad = true;
  if (is_output_) {
    meta.grad_fn = std::const_pointer_cast<Node>(owner.shared_from_this());
  } else if (dynamic_cast<const AccumulateGrad*>(history_.get()) != nullptr) {
    meta.grad_accumulator = history_;  // a leaf: gradients still reach the original's .grad
  } else {
    meta.grad_fn = history_;
  }
  return out;
}

Tensor Context::saved(size_t i) const {
  BG_CHECK(i < saved_.size(), node_.name(), "the backward formula reads saved tensor ", i,
           ", but the op saved ", saved_.size());
  return saved_[i].unpack(node_);
}

// ---- Recording ----------------------------------------------------------------------------------

bool needs_recording(std::span<const Tensor> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

void NodeBuilder::connect(Node& node, std::span<const Tensor> inputs, const Tensor& out) {
  node.next_.reserve(inputs.size());
  for (const Tensor& t : inputs) node.next_.push_back(t.defined() ? gradient_edge(t) : nullptr);
  node.output_shape_ = out.sizes();
  node.output_dtype_ = out.dtype();
  if (AnomalyMode::is_enabled()) {
    node.creation_ = std::make_unique<const std::string>(anomaly::describe_creation(inputs, out));
  }
  AutogradMeta& meta = out.impl()->autograd_or_create();
  meta.requires_grad = true;
  meta.grad_fn = node.shared_from_this();
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  AutogradMeta* meta = t.impl()->autograd();
  if (meta == nullptr || !meta->requires_grad) return nullptr;
  if (meta->grad_fn) return meta->grad_fn;
  // A leaf: every use shares one accumulator, so its hooks see the summed gradient.
  if (!meta->grad_accumulator)
    meta->grad_accumulator = detail::make_pooled<AccumulateGrad>(t.impl_ptr());
  return meta->grad_accumulator;
}

// ---- AccumulateGrad -----------------------------------------------------------------------------

AccumulateGrad::AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf)
    : Node("AccumulateGrad"), leaf_(leaf) {
  output_shape_ = leaf->sizes();
  output_dtype_ = leaf->dtype();
}

Tensor AccumulateGrad::run_leaf_hooks(Tensor grad) const {
  const std::shared_ptr<TensorImpl> leaf = leaf_.lock();
  if (!leaf) return grad;
  for (const Hook& hook : leaf->autograd_or_create().hooks) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) grad = std::move(replaced);
  }
  return grad;
}

Grads AccumulateGrad::apply(Tensor&& grad_output) {
  const std::shared_ptr<TensorImpl> leaf = leaf_.lock();
  if (!leaf) return {};  // the leaf is gone: nobody can read its gradient
  Tensor grad = run_leaf_hooks(std::move(grad_output));
  AutogradMeta& meta = leaf->autograd_or_create();
  if (meta.grad.defined()) {
    // In place when nobody else holds `.grad` (no allocation); otherwise out of place, so that a
    // handle taken earlier keeps its value, and under create_graph, so the sum stays
    // differentiable.
    const bool owned =
        meta.grad.impl_ptr().use_count() == 1 && meta.grad.impl()->storage().use_count() == 1;
    if (owned && !GradMode::is_enabled() && !meta.grad.requires_grad()) {
      meta.grad.add_(grad);
    } else {
      meta.grad = meta.grad + grad;
    }
  } else if (!GradMode::is_enabled() && grad.is_contiguous() && grad.impl_ptr().use_count() == 1 &&
             grad.impl()->storage().use_count() == 1) {
    // Nobody else can see this gradient: keep it instead of copying.
    meta.grad = grad;
  } else {
    // The gradient may be a broadcast view or shared with another leaf (a + b hands both the same
    // tensor): `.grad` gets storage of its own, since optimizers update it in place.
    meta.grad = GradMode::is_enabled() ? grad.clone() : grad.detach().clone();
  }
  if (!meta.post_accumulate_grad_hooks.empty()) {
    const Tensor leaf_handle(leaf);
    for (const auto& hook : meta.post_accumulate_grad_hooks) hook(leaf_handle);
  }
  return {};
}

void register_post_accumulate_grad_hook(const Tensor& leaf,
                                        std::function<void(const Tensor&)> hook) {
  BG_CHECK(leaf.defined() && leaf.requires_grad() && leaf.is_leaf(),
           "register_post_accumulate_grad_hook", "needs a leaf tensor that requires grad, got ",
           leaf.defined() ? describe(leaf) : std::string("an undefined tensor"),
           leaf.defined() && !leaf.is_leaf() ? " computed by another op" : "");
  leaf.impl()->autograd_or_create().post_accumulate_grad_hooks.push_back(std::move(hook));
}

}  // namespace bg::autograd
