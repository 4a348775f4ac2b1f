// The backward engine: runs the graph's nodes in reverse, without recursion.
//
// 1. A depth-first walk from the roots counts, for every node, how many edges point at it (its
//    dependencies). The walk keeps an explicit stack, so a chain of 100,000 ops cannot overflow the
//    call stack.
// 2. A node is ready once every node that feeds it a gradient has run: its dependency count drops
//    to zero. Ready nodes run one at a time from a stack (Kahn's algorithm); gradients arriving at
//    a node are summed in its task before it runs.
// 3. Leaves end every path: their AccumulateGrad node adds into `.grad`. autograd::grad() instead
//    captures the gradient arriving at each requested input and runs only the nodes that lead
//    there.
// 4. Callbacks that hooks queued during the pass (autograd::queue_callback) run after the last
//    node, before backward() returns: distributed training waits there for its gradient exchanges.

#include <algorithm>
#include <atomic>
#include <functional>
#include <vector>

#include "autograd/accumulate_grad.h"
#include "autograd/anomaly.h"
#include "bg/core/autograd/anomaly.h"
#include "bg/core/autograd/autograd.h"
#include "bg/core/autograd/node.h"
#include "bg/core/factory.h"
#include "bg/core/ops.h"
#include "bg/core/tensor_impl.h"

namespace bg::autograd {
namespace {

struct NodeTask {
  Node* node = nullptr;
  int dependencies = 0;
  bool needed = true;
  Tensor grad;  // the sum of the gradients received so far
};

// Note [Engine marks]
// Every backward pass takes a new number. A node the pass visits records that number and the index
// of its task (Node::engine_mark), so finding a node's task is an array access, with no hash map
// and no allocation per node. The price: two backward passes must not walk the same nodes at the
// same time (from two threads, or from a hook that differentiates its own graph).
class TaskTable {
 public:
  TaskTable() : pass_(next_pass_.fetch_add(1, std::memory_order_relaxed)) { tasks_.reserve(32); }

  // The task of `node`, and whether it was just created.
  std::pair<NodeTask*, bool> find_or_add(Node* node) {
    if (NodeTask* task = find(node)) return {task, false};
    node->engine_mark = {pass_, tasks_.size()};
    tasks_.push_back(NodeTask{node, 0, true, Tensor()});
    return {&tasks_.back(), true};
  }

  // The task of a node this pass has visited.
  NodeTask& operator[](Node* node) {
    NodeTask* task = find(node);
    BG_CHECK(task != nullptr, "backward", "another backward pass ran over ", node->name(),
             " while this one was using it; backward passes over one graph must not nest or run "
             "concurrently");
    return *task;
  }

 private:
  NodeTask* find(Node* node) {
    const Node::EngineMark& mark = node->engine_mark;
    if (mark.pass != pass_ || mark.task >= tasks_.size() || tasks_[mark.task].node != node)
      return nullptr;
    return &tasks_[mark.task];
  }

  static inline std::atomic<uint64_t> next_pass_{1};
  uint64_t pass_;
  std::vector<NodeTask> tasks_;
};

// Note [Broadcast backward]
// A formula may return a gradient in the broadcast shape of its output (mul's dL/da is grad * b,
// shaped like a * b). Rather than every formula reducing it, the engine sums each gradient down to
// the shape of the tensor it belongs to: one `sum_to` here, for every op. A gradient that cannot
// have come from broadcasting is a bug in a formula, reported with both shapes.
Tensor fit_gradient(const Node& producer, size_t input, const Node& consumer, Tensor grad) {
  if (grad.sizes() != consumer.output_shape()) {
    bool broadcastable = grad.dim() >= static_cast<int64_t>(consumer.output_shape().size());
    const size_t lead = grad.sizes().size() - consumer.output_shape().size();
    for (size_t i = 0; broadcastable && i < consumer.output_shape().size(); ++i) {
      const int64_t want = consumer.output_shape()[i];
      broadcastable = want == 1 || want == grad.sizes()[lead + i];
    }
    BG_CHECK(broadcastable, "backward", producer.name(), " returned a gradient of shape ",
             shape_str(grad.sizes()), " for its input ", input, ", which has shape ",
             shape_str(consumer.output_shape()));
    grad = sum_to(grad, consumer.output_shape());
  }
  if (grad.dtype() != consumer.output_dtype()) grad = grad.to(consumer.output_dtype());
  return grad;
}

Tensor run_pre_hooks(Node& node, Tensor grad) {
  for (const Hook& hook : node.pre_hooks()) {
    Tensor replaced = hook(grad);
    if (replaced.defined()) grad = std::move(replaced);
  }
  return grad;
}

// What one backward pass computes.
struct GraphTask {
  bool keep_graph = false;
  bool create_graph = false;
  // autograd::grad(): the nodes whose incoming gradient is wanted (empty for backward()).
  std::vector<Node*> captures;
  std::vector<Tensor> captured;
  // What queue_callback() asked to run once the last node has run.
  std::vector<std::function<void()>> final_callbacks;
};

// The pass running on this thread, for queue_callback(). A hook may start a backward pass of its
// own (over another graph); that pass becomes the current one until it returns.
thread_local GraphTask* current_graph = nullptr;

class CurrentGraph {
 public:
  explicit CurrentGraph(GraphTask& graph) : previous_(current_graph) { current_graph = &graph; }
  ~CurrentGraph() { current_graph = previous_; }
  CurrentGraph(const CurrentGraph&) = delete;
  CurrentGraph& operator=(const CurrentGraph&) = delete;

 private:
  GraphTask* previous_;
};

// Runs the callbacks queued during the pass; a callback may queue more (indexing, not iterators,
// as the vector may grow).
void run_final_callbacks(GraphTask& graph) {
  for (size_t i = 0; i < graph.final_callbacks.size(); ++i) {
    std::function<void()> callback = std::move(graph.final_callbacks[i]);
    callback();
  }
  graph.final_callbacks.clear();
}

void execute(const std::vector<std::shared_ptr<Node>>& roots, const std::vector<Tensor>& root_grads,
             GraphTask& graph) {
  CurrentGraph current(graph);
  TaskTable tasks;
  std::vector<Node*> post_order;  // every node after all the nodes it feeds

  // 1. Count dependencies with an iterative depth-first walk.
  std::vector<std::pair<Node*, size_t>> stack;
  for (const auto& root : roots) {
    if (tasks.find_or_add(root.get()).second) stack.emplace_back(root.get(), 0);
  }
  while (!stack.empty()) {
    Node* node = stack.back().first;
    const size_t next_index = stack.back().second++;
    if (next_index < node->next().size()) {
      Node* child = node->next()[next_index].get();
      if (child == nullptr) continue;
      auto [task, inserted] = tasks.find_or_add(child);
      task->dependencies++;
      if (inserted) stack.emplace_back(child, 0);
    } else {
      post_order.push_back(node);
      stack.pop_back();
    }
  }

  // For grad(): run only the nodes that lead to a captured one, and never accumulate into leaves.
  const bool capturing = !graph.captures.empty();
  auto is_capture = [&](Node* node) {
    return std::find(graph.captures.begin(), graph.captures.end(), node) != graph.captures.end();
  };
  if (capturing) {
    for (Node* node : post_order) {
      bool needed = is_capture(node);
      if (!needed && dynamic_cast<AccumulateGrad*>(node) == nullptr) {
        for (const auto& child : node->next())
          needed = needed || (child && tasks[child.get()].needed);
      }
      tasks[node].needed = needed;
    }
  }

  for (size_t i = 0; i < roots.size(); ++i) {
    Tensor& grad = tasks[roots[i].get()].grad;
    grad = grad.defined() ? grad + root_grads[i] : root_grads[i];
  }

  // 2. Run ready nodes.
  AutoGradMode grad_mode(graph.create_graph);
  std::vector<Node*> ready;
  for (const auto& root : roots) {
    NodeTask& task = tasks[root.get()];
    if (task.dependencies == 0) {
      task.dependencies = -1;  // queued (a root may be listed twice)
      ready.push_back(root.get());
    }
  }
  while (!ready.empty()) {
    Node* node = ready.back();
    ready.pop_back();
    NodeTask& task = tasks[node];
    Tensor grad = std::move(task.grad);
    Grads input_grads;
    if (task.needed && (grad.defined() || node->runs_without_gradient())) {
      if (grad.defined()) grad = run_pre_hooks(*node, std::move(grad));
      auto* leaf = capturing ? dynamic_cast<AccumulateGrad*>(node) : nullptr;  // only grad() asks
      if (capturing && is_capture(node)) {
        for (size_t i = 0; i < graph.captures.size(); ++i) {
          if (graph.captures[i] == node)
            graph.captured[i] = leaf ? leaf->run_leaf_hooks(grad) : grad;
        }
      }
      if (!(capturing && leaf)) {
        input_grads = node->apply(std::move(grad));
        if (!graph.keep_graph) node->release_saved();
        BG_CHECK(input_grads.empty() || input_grads.size() == node->next().size(), "backward",
                 node->name(), " returned ", input_grads.size(), " gradients for ",
                 node->next().size(), " inputs");
        if (AnomalyMode::is_enabled()) anomaly::check_gradients(*node, input_grads);
      }
    }
    for (size_t i = 0; i < node->next().size(); ++i) {
      Node* child = node->next()[i].get();
      if (child == nullptr) continue;
      NodeTask& child_task = tasks[child];
      if (i < input_grads.size() && input_grads[i].defined() && child_task.needed) {
        Tensor g = fit_gradient(*node, i, *child, std::move(input_grads[i]));
        child_task.grad = child_task.grad.defined() ? child_task.grad + g : std::move(g);
      }
      if (--child_task.dependencies == 0) ready.push_back(child);
    }
  }
  run_final_callbacks(graph);
}

// The node and gradient each output starts the backward pass with.
void prepare_roots(const char* op, const std::vector<Tensor>& outputs,
                   const std::vector<Tensor>& grad_outputs,
                   std::vector<std::shared_ptr<Node>>& roots, std::vector<Tensor>& grads) {
  BG_CHECK(!outputs.empty(), op, "no outputs given");
  BG_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), op, "got ",
           grad_outputs.size(), " gradients for ", outputs.size(), " outputs");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    BG_CHECK(out.defined(), op, "output ", i, " is an undefined tensor");
    BG_CHECK(out.requires_grad(), op, "output ", i, " (", describe(out),
             ") does not require grad and has no grad_fn: nothing to differentiate");
    Tensor grad = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (grad.defined()) {
      BG_CHECK(grad.sizes() == out.sizes(), op, "the gradient for output ", i, " has shape ",
               shape_str(grad.sizes()), " but the output has shape ", shape_str(out.sizes()));
      BG_CHECK(grad.device() == out.device(), op, "the gradient for output ", i, " is on ",
               grad.device().str(), " but the output is on ", out.device().str());
      if (grad.dtype() != out.dtype()) grad = grad.to(out.dtype());
    } else {
      BG_CHECK(out.numel() == 1, op,
               "a gradient can be created implicitly only for one-element outputs; output ", i,
               " has shape ", shape_str(out.sizes()), ": pass a gradient of that shape");
      grad = ones_like(out);
    }
    roots.push_back(gradient_edge(out));
    grads.push_back(std::move(grad));
  }
}

}  // namespace

void queue_callback(std::function<void()> callback) {
  BG_CHECK(current_graph != nullptr, "queue_callback",
           "no backward pass is running on this thread: callbacks can only be queued from a hook");
  current_graph->final_callbacks.push_back(std::move(callback));
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              bool retain_graph, bool create_graph) {
  std::vector<std::shared_ptr<Node>> roots;
  std::vector<Tensor> grads;
  prepare_roots("backward", outputs, grad_outputs, roots, grads);
  GraphTask graph;
  // The recorded gradients refer to the graph's saved tensors: differentiating them again needs
  // the graph kept (as in PyTorch, where retain_graph defaults to create_graph).
  graph.keep_graph = retain_graph || create_graph;
  graph.create_graph = create_graph;
  execute(roots, grads, graph);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, GradOptions options) {
  std::vector<std::shared_ptr<Node>> roots;
  std::vector<Tensor> grads;
  prepare_roots("grad", outputs, grad_outputs, roots, grads);
  BG_CHECK(!inputs.empty(), "grad", "no inputs given");
  GraphTask graph;
  graph.keep_graph = options.retain_graph();
  graph.create_graph = options.create_graph();
  // The captured node of an input: its grad_fn, or for a leaf its accumulator.
  std::vector<std::shared_ptr<Node>> input_nodes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    BG_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "grad", "input ", i, " (",
             describe(inputs[i]), ") does not require grad");
    input_nodes.push_back(gradient_edge(inputs[i]));
    graph.captures.push_back(input_nodes.back().get());
  }
  graph.captured.resize(inputs.size());
  execute(roots, grads, graph);
  for (size_t i = 0; i < inputs.size(); ++i) {
    BG_CHECK(graph.captured[i].defined() || options.allow_unused(), "grad", "input ", i, " (",
             describe(inputs[i]),
             ") was not used to compute the outputs; pass allow_unused = true to get an undefined "
             "gradient for it");
  }
  return graph.captured;
}

}  // namespace bg::autograd
