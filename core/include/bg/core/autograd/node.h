#pragma once
// The autograd graph, and how an op records itself in it.
//
// Every tracked op produces one output tensor and one Node. The node keeps an edge to the node of
// each input that requires grad (null for the others) and whatever the backward formula needs. For
// an op y = f(a, b), backward receives dL/dy and returns {dL/da, dL/db}.
//
// Ops record themselves with autograd::record, giving the backward formula as a lambda written in
// Tensor ops. Because formulas are Tensor ops, they run on every backend, and with create_graph
// they are themselves recorded, which gives higher-order derivatives for free:
//
//   Tensor out = ...forward kernel...;
//   autograd::record(out, "MulBackward", {a, b}, /*saved=*/{a, b}, /*save_output=*/false,
//       [](const autograd::Context& ctx, const Tensor& grad) -> autograd::Grads {
//         return {grad * ctx.saved(1), grad * ctx.saved(0)};  // d(ab)/da = b, d(ab)/db = a
//       });
//
// Gradients may come back in the broadcast shape of the output; the engine sums them down to each
// input's shape (Note [Broadcast backward] in engine.cpp).

#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "bg/core/api.h"
#include "bg/core/grad_mode.h"
#include "bg/core/object_pool.h"
#include "bg/core/tensor.h"

BG_API_BEGIN

namespace bg::autograd {

/// Gradients for a node's inputs, in input order; undefined for inputs that need none. A vector
/// (pooled: Note [Object pool]); a formula may also return a std::vector<Tensor>.
using Grads = std::vector<Tensor, detail::PoolAllocator<Tensor>>;
using Hook = std::function<Tensor(const Tensor&)>;

class Node;
/// A node's edges to the nodes of its inputs, in input order (pooled: Note [Object pool]).
using Edges = std::vector<std::shared_ptr<Node>, detail::PoolAllocator<std::shared_ptr<Node>>>;

class Node : public std::enable_shared_from_this<Node> {
 public:
  /// `name` must outlive the node (a string literal such as "MulBackward").
  explicit Node(const char* name) : name_(name) {}
  /// Releases the nodes this one feeds without recursing (Note [Graph teardown] in node.cpp).
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const { return name_; }

  /// Gradients of the inputs, given the gradient of this node's output (which the node may keep).
  virtual Grads apply(Tensor&& grad_output) = 0;

  /// Frees what backward saved (backward without retain_graph calls it after apply).
  virtual void release_saved() {}

  /// Whether backward must call apply even when no gradient reached the node's output (apply then
  /// gets an undefined tensor): a node that other nodes hand work to in the same pass
  /// (fused_gaussian.cpp's sample node, which adds the gradient of a KL of the same parameters).
  virtual bool runs_without_gradient() const { return false; }

  /// One edge per input: the node of that input, or null when the input needs no gradient.
  const Edges& next() const { return next_; }

  /// Shape and dtype of the tensor this node produced: incoming gradients are checked against them.
  const Shape& output_shape() const { return output_shape_; }
  Dtype output_dtype() const { return output_dtype_; }

  /// Hooks run on the incoming gradient before apply (the hooks of the output tensor).
  std::vector<Hook>& pre_hooks() { return pre_hooks_; }

  /// How the node came about (the forward op's tensors and call stack) when it was recorded while
  /// anomaly detection was on (anomaly.h); null otherwise.
  const std::string* creation() const { return creation_.get(); }

  /// Scratch space of the backward pass walking this node (Note [Engine marks] in engine.cpp).
  struct EngineMark {
    uint64_t pass = 0;
    size_t task = 0;
  };
  EngineMark engine_mark;

 protected:
  friend class NodeBuilder;
  Edges next_;
  Shape output_shape_;
  Dtype output_dtype_ = kFloat32;
  std::vector<Hook> pre_hooks_;
  std::unique_ptr<const std::string> creation_;

 private:
  const char* name_;
};

/// A tensor kept for backward, with the storage version it had when saved (Note [Version counter]).
///
/// What is kept is a snapshot of the tensor's geometry over its storage at saving time, plus the
/// tensor's place in the graph (its grad_fn, or for a leaf its gradient accumulator). So a later
/// set_data() or parametrization step that points the original tensor at new storage never
/// changes what an earlier graph computes, and an in-place write to the saved storage is caught.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// Saves `tensor`. An op's own output is saved without its grad_fn (a node must not own itself)
  /// and re-attached to `owner` when unpacked.
  SavedTensor(const Tensor& tensor, bool is_output);

  /// The saved tensor; throws if it was modified in place since, or released.
  Tensor unpack(const Node& owner) const;
  void release() {
    data_ = Tensor();
    history_.reset();
    released_ = true;
  }

 private:
  Tensor data_;                    // the snapshot, without autograd metadata
  std::shared_ptr<Node> history_;  // grad_fn, or a leaf's accumulator (null for outputs)
  uint32_t version_ = 0;
  bool is_output_ = false;
  bool requires_grad_ = false;
  bool released_ = false;
};

/// What a backward formula can read.
class Context {
 public:
  Context(const Node& node, std::span<const SavedTensor> saved, const SavedTensor* output)
      : node_(node), saved_(saved), output_(output) {}
  /// The i-th tensor passed as `saved` to record().
  Tensor saved(size_t i) const;
  /// The op's output (record() with save_output = true).
  Tensor output() const { return output_->unpack(node_); }
  /// Whether input `i` needs a gradient (formulas may skip the others).
  bool needs_grad(size_t i) const { return node_.next()[i] != nullptr; }

 private:
  const Node& node_;
  std::span<const SavedTensor> saved_;
  const SavedTensor* output_;
};

/// True when grad mode is on and some input requires grad: the op must record a node.
bool needs_recording(std::span<const Tensor> inputs);

/// Fills the node's edges from the inputs and makes `out` its output (requires_grad, grad_fn).
class NodeBuilder {
 public:
  static void connect(Node& node, std::span<const Tensor> inputs, const Tensor& out);
};

/// A node whose backward is a lambda `Grads(const Context&, const Tensor& grad_output)`.
template <typename Formula>
class FunctionNode final : public Node {
 public:
  FunctionNode(const char* name, Formula formula) : Node(name), formula_(std::move(formula)) {}

  Grads apply(Tensor&& grad_output) override {
    auto grads = formula_(Context(*this, saved_, save_output_ ? &output_ : nullptr), grad_output);
    if constexpr (std::is_same_v<decltype(grads), Grads>) {
      return grads;
    } else {
      return Grads(std::make_move_iterator(grads.begin()), std::make_move_iterator(grads.end()));
    }
  }
  void release_saved() override {
    for (SavedTensor& s : saved_) s.release();
    output_.release();
  }

  std::vector<SavedTensor, detail::PoolAllocator<SavedTensor>> saved_;
  SavedTensor output_;
  bool save_output_ = false;

 private:
  Formula formula_;
};

/// Records that `out` was computed from `inputs` by an op whose backward is `formula`. Does
/// nothing when no input requires grad, grad mode is off, or `out` is not floating-point (integer
/// and bool results are not differentiable). `saved` are tensors the formula reads through
/// ctx.saved(i); with `save_output` it can read `out` through ctx.output().
template <typename Formula>
void record(const Tensor& out, const char* name, std::span<const Tensor> inputs,
            std::initializer_list<Tensor> saved, bool save_output, Formula formula) {
  if (!needs_recording(inputs) || !is_floating(out.dtype())) return;
  auto node = detail::make_pooled<FunctionNode<Formula>>(name, std::move(formula));
  node->saved_.reserve(saved.size());
  for (const Tensor& t : saved) node->saved_.emplace_back(t, false);
  NodeBuilder::connect(*node, inputs, out);
  if (save_output) {
    node->output_ = SavedTensor(out, true);
    node->save_output_ = true;
  }
}

/// record() with the inputs written as a braced list: `record(out, "MulBackward", {a, b}, ...)`.
template <typename Formula>
void record(const Tensor& out, const char* name, std::initializer_list<Tensor> inputs,
            std::initializer_list<Tensor> saved, bool save_output, Formula formula) {
  record(out, name, std::span<const Tensor>(inputs.begin(), inputs.size()), saved, save_output,
         std::move(formula));
}

/// The node that receives the gradient of `t`: its grad_fn, or for a leaf that requires grad the
/// node accumulating into its `.grad`; null when `t` does not require grad.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

}  // namespace bg::autograd

BG_API_END
