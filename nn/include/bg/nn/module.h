#pragma once
// nn::Module: the base of every layer and model, with LibTorch's names.
//
// A module owns named parameters (tensors an optimizer trains), buffers (state that is not
// trained, such as batch-norm running statistics) and child modules. Names form dotted paths
// ("0.weight", "encoder.norm.bias") in named_parameters() and state_dict(), in registration order.
//
//   struct MyNetImpl : bg::nn::Module {
//     MyNetImpl() : Module("MyNet") {
//       weight = register_parameter("weight", bg::randn({4, 3}));
//       fc = register_module("fc", bg::nn::Linear(3, 1));
//     }
//     bg::Tensor forward(const bg::Tensor& x) { return fc(x.matmul(weight)); }
//     bg::Tensor weight;
//     bg::nn::Linear fc = nullptr;
//   };
//   BG_MODULE(MyNet);   // MyNet net; net->parameters(); net(x);
//
// Layer code reads its parameters through the handles it keeps (`weight` above). Those handles
// stay valid when the module moves to another device or dtype (the storage is swapped inside the
// same tensor object) and when a parametrization takes the parameter over (parametrize.h).

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "bg/core.h"
#include "bg/core/api.h"
#include "bg/nn/ordered_dict.h"

BG_API_BEGIN

namespace bg::nn {

template <typename Impl>
class ModuleHolder;

/// What load_state_dict found: keys it could not use, and parameters it could not fill.
struct LoadResult {
  std::vector<std::string> missing_keys;     ///< expected by the module, absent from the dict
  std::vector<std::string> unexpected_keys;  ///< in the dict, unknown to the module
  std::vector<std::string> mismatched_keys;  ///< present on both sides with different shapes
};

class Module : public std::enable_shared_from_this<Module> {
 public:
  /// `type_name` is what printing shows ("Linear").
  explicit Module(std::string type_name = "Module");
  /// Releases the children without recursing, so trees of any depth can be destroyed.
  virtual ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& type_name() const { return type_name_; }

  // ---- Registration -----------------------------------------------------------------------------
  /// Registers a parameter and returns a reference to the stored handle. `requires_grad` is set on
  /// it (for floating-point tensors). Names may not be empty or contain '.'.
  Tensor& register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
  /// Registers a buffer: state saved with the module (unless not `persistent`) but not trained.
  Tensor& register_buffer(std::string name, Tensor tensor, bool persistent = true);
  /// Registers a child module; returns it.
  template <typename M>
  std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
    add_child(std::move(name), module);
    return module;
  }
  /// Registers the module a holder (nn::Linear, ...) points at; returns the holder.
  template <typename Holder>
  requires requires(const Holder& h) { h.ptr(); }
  Holder register_module(std::string name, Holder holder) {
    add_child(std::move(name), holder.ptr());
    return holder;
  }
  /// Replaces the child `name` (which must exist) by `module`.
  virtual void replace_module(const std::string& name, std::shared_ptr<Module> module);

  // ---- Traversal --------------------------------------------------------------------------------
  std::vector<Tensor> parameters(bool recurse = true) const;
  OrderedDict<Tensor> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  OrderedDict<Tensor> named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  OrderedDict<std::shared_ptr<Module>> named_children() const;
  /// This module (unless `include_self` is false) and all its descendants, depth first. For a
  /// module not owned by a shared_ptr, its own entry does not own it.
  std::vector<std::shared_ptr<Module>> modules(bool include_self = true);
  OrderedDict<std::shared_ptr<Module>> named_modules(const std::string& prefix = "",
                                                     bool include_self = true);
  /// Calls fn on this module and every descendant, depth first (parents first).
  void apply(const std::function<void(Module&)>& fn);
  /// The same, with each module's dotted name ("" for this one).
  void apply(const std::function<void(const std::string&, Module&)>& fn);
  /// This module as a T, or null if it is not one.
  template <typename T>
  T* as() {
    return dynamic_cast<T*>(this);
  }
  template <typename T>
  const T* as() const {
    return dynamic_cast<const T*>(this);
  }

  // ---- Modes, devices, gradients ----------------------------------------------------------------
  /// Training mode (the default) or evaluation mode, for this module and its children.
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  /// Moves every parameter and buffer to `device`, in place: handles held elsewhere (by an
  /// optimizer, by layer code) stay valid and see the new storage.
  virtual void to(Device device);
  /// Converts the floating-point parameters and buffers to `dtype`, in place.
  virtual void to(Dtype dtype);
  /// Resets the gradients of all parameters (to undefined, or to zeros with set_to_none false).
  void zero_grad(bool set_to_none = true);

  // ---- State ------------------------------------------------------------------------------------
  /// Parameters and persistent buffers by dotted name.
  OrderedDict<Tensor> state_dict() const;
  /// Copies the values of `state` into the parameters and buffers (converting dtype and device).
  /// With `strict`, any missing, unexpected or mis-shaped key throws an error listing them all and
  /// nothing is changed; otherwise the matching keys are loaded and the rest reported.
  LoadResult load_state_dict(const OrderedDict<Tensor>& state, bool strict = true);

  // ---- Printing ---------------------------------------------------------------------------------
  /// One line describing this module alone, e.g. "Linear(in_features=1, out_features=20,
  /// bias=true)". The default prints the type name.
  virtual void pretty_print(std::ostream& out) const;

 protected:
  struct Buffer {
    Tensor tensor;
    bool persistent;
  };
  void add_child(std::string name, std::shared_ptr<Module> module);
  // Own entries (not recursive), in registration order.
  OrderedDict<Tensor> parameters_;
  OrderedDict<Buffer> buffers_;
  OrderedDict<std::shared_ptr<Module>> children_;
  bool training_ = true;

 private:
  friend struct ModuleAccess;
  // Calls visit(module, keys from this module down to it) on this module and, with `recurse`, every
  // descendant, depth first, parents first, children in order, without recursing.
  void walk(const std::function<void(Module&, const std::vector<const std::string*>&)>& visit,
            bool recurse) const;
  // The tensors of this module and its descendants, visited with their dotted names.
  void visit_tensors(const std::string& prefix, bool recurse, bool want_parameters,
                     bool want_buffers, bool persistent_only,
                     const std::function<void(const std::string&, Tensor&)>& fn) const;
  std::string type_name_;
};

/// Prints the module tree as PyTorch does:
///   Sequential(
///     (0): Linear(in_features=1, out_features=20, bias=true)
///     (1): ReLU()
///   )
std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace bg::nn

BG_API_END
