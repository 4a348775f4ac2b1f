#pragma once
// AccumulateGrad: the node at the end of every path, adding the gradient into a leaf's `.grad`.

#include "bg/core/autograd/node.h"
#include "bg/core/tensor_impl.h"

namespace bg::autograd {

class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf);

  /// Runs the leaf's hooks, then adds the gradient to its `.grad`. Returns no gradients.
  Grads apply(Tensor&& grad_output) override;

  /// The leaf's hooks applied to `grad` (used by autograd::grad, which returns instead of adding).
  Tensor run_leaf_hooks(Tensor grad) const;

 private:
  // Weak: the leaf owns this node (AutogradMeta::grad_accumulator), not the other way round.
  std::weak_ptr<TensorImpl> leaf_;
};

}  // namespace bg::autograd
