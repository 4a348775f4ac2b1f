// Graph construction: saving tensors, connecting nodes, and the leaf accumulator.

#include "bg/core/autograd/node.h"

#include "autograd/accumulate_grad.h"
#include "bg/core/ops.h"
#include "bg/core/tensor_impl.h"
#include "ops/op_utils.h"

namespace bg::autograd {

// ---- SavedTensor
// ------------------------------------------------------------------------------------

SavedTensor::SavedTensor(const Tensor& tensor, bool is_output)
    : version_(tensor.version()), is_output_(is_output), requires_grad_(tensor.requires_grad()) {
  // An output keeps only its values: holding the output itself would hold its grad_fn, which is
  // the node saving it, a reference cycle that would leak the graph.
  data_ = is_output
              ? detail::alias(tensor, tensor.sizes(), tensor.strides(), tensor.storage_offset())
              : tensor;
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
  if (!is_output_ || !requires_grad_) return data_;
  // Re-attach the output to its node so that create_graph can differentiate through it.
  Tensor out = detail::alias(data_, data_.sizes(), data_.strides(), data_.storage_offset());
  AutogradMeta& meta = out.impl()->autograd_or_create();
  meta.requires_grad = true;
  meta.grad_fn = std::const_pointer_cast<Node>(owner.shared_from_this());
  return out;
}

// ---- Recording
// --------------------------------------------------------------------------------------

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
  AutogradMeta& meta = out.impl()->autograd_or_create();
  meta.requires_grad = true;
  meta.grad_fn = node.shared_from_this();
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  AutogradMeta* meta = t.impl()->autograd();
  if (meta == nullptr || !meta->requires_grad) return nullptr;
  if (meta->grad_fn) return meta->grad_fn;
  // A leaf: every use in the graph shares one accumulator, so its hooks see the summed gradient.
  std::shared_ptr<Node> accumulator = meta->grad_accumulator.lock();
  if (!accumulator) {
    accumulator = std::make_shared<AccumulateGrad>(t.impl_ptr());
    meta->grad_accumulator = accumulator;
  }
  return accumulator;
}

// ---- AccumulateGrad
// ---------------------------------------------------------------------------------

AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf)
    : Node("AccumulateGrad"), leaf_(std::move(leaf)) {
  output_shape_ = leaf_->sizes();
  output_dtype_ = leaf_->dtype();
}

Tensor AccumulateGrad::run_leaf_hooks(Tensor grad) const {
  for (const Hook& hook : leaf_->autograd_or_create().hooks) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) grad = std::move(replaced);
  }
  return grad;
}

Grads AccumulateGrad::apply(Tensor&& grad_output) {
  Tensor grad = run_leaf_hooks(std::move(grad_output));
  AutogradMeta& meta = leaf_->autograd_or_create();
  if (meta.grad.defined()) {
    // Out of place: `.grad` may be shared with the caller (e.g. held by an optimizer).
    meta.grad = meta.grad + grad;
  } else if (!GradMode::is_enabled() && grad.is_contiguous() && grad.impl_ptr().use_count() == 1 &&
             grad.impl()->storage().use_count() == 1) {
    // Nobody else can see this gradient: keep it instead of copying.
    meta.grad = grad;
  } else {
    // The gradient may be a broadcast view or shared with another leaf (a + b hands both the same
    // tensor): `.grad` gets storage of its own, since optimizers update it in place.
    meta.grad = GradMode::is_enabled() ? grad.clone() : grad.detach().clone();
  }
  return {};
}

}  // namespace bg::autograd
