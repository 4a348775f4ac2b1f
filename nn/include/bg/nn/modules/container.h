#pragma once
// Containers: Sequential (a chain of modules), ModuleList and ModuleDict (modules held for the
// owner's forward to use, registered so their parameters are found).
//
//   nn::Sequential seq(nn::Linear(1, 20), nn::ReLU(), nn::Linear(20, 1));
//   seq(x);                              // each module's forward, in order
//   nn::Sequential pair(nn::Bilinear(3, 4, 5), nn::ReLU());
//   pair(x1, x2);                        // the first module may take several arguments
//   seq->at<nn::LinearImpl>(0).weight;   // a module by index and type
//
// The modules are children named "0", "1", ... (ModuleDict: by their keys), so their parameters
// are "0.weight", "0.bias", ...

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "bg/core/api.h"
#include "bg/nn/holder.h"

BG_API_BEGIN

namespace bg::nn {

namespace detail {
/// `module` as a T; throws naming `container` and the entry `what` when it is not one.
template <typename T>
std::shared_ptr<T> module_as(const char* container, const std::string& what,
                             const std::shared_ptr<Module>& module) {
  std::shared_ptr<T> cast = std::dynamic_pointer_cast<T>(module);
  BG_CHECK(cast != nullptr, container, "the module ", what, " is a ", module->type_name(),
           ", not the type asked for");
  return cast;
}
}  // namespace detail

/// Modules applied one after the other: forward(x) = m_n(...m_1(x)). The first module takes the
/// arguments of forward, every later one the output of the module before it (as in LibTorch). A
/// Linear directly followed by a ReLU runs as one fused op (LinearImpl::forward_relu), with the
/// bits of the two modules' forwards, values and gradients.
class SequentialImpl : public Module {
 public:
  SequentialImpl() : Module("Sequential") {}
  /// The modules in order, as holders (nn::Linear(1, 20)), shared_ptrs or AnyModules.
  template <typename... Modules>
  requires(sizeof...(Modules) > 0 && (std::is_constructible_v<AnyModule, Modules&&> &&
                                      ...)) explicit SequentialImpl(Modules&&... modules)
      : SequentialImpl() {
    (push_back(AnyModule(std::forward<Modules>(modules))), ...);
  }

  /// Appends a module, named by its index.
  void push_back(AnyModule module);
  /// Appends a module under its own name.
  void push_back(std::string name, AnyModule module);

  /// The inputs passed to the first module, its output to the second, ...; returns the last
  /// module's output as an R (the input itself for an empty Sequential and one input). Throws
  /// bg::Error naming the module when an output does not fit the next module or R.
  template <typename R = Tensor, typename... Inputs>
  R forward(Inputs&&... inputs) {
    if constexpr (std::is_same_v<R, Tensor> && sizeof...(Inputs) == 1 &&
                  (std::is_same_v<std::decay_t<Inputs>, Tensor> && ...)) {
      if (all_tensor_to_tensor_) return forward_tensors(inputs...);
    }
    std::vector<AnyValue> values;
    values.reserve(sizeof...(Inputs));
    (values.emplace_back(std::forward<Inputs>(inputs)), ...);
    const AnyValue result = any_forward(std::move(values));
    BG_CHECK(result.is<R>(), "Sequential", "the last module returns ", result.type_name(), ", not ",
             nn::type_name(typeid(R)), ": call forward<", result.type_name(), ">(...)");
    return result.get<R>();
  }
  /// forward with the inputs and the result type-erased (what AnyModule calls).
  AnyValue any_forward(std::vector<AnyValue> inputs);

  size_t size() const { return modules_.size(); }
  bool is_empty() const { return modules_.empty(); }
  /// The module at `index`.
  std::shared_ptr<Module> ptr(size_t index) const;
  std::shared_ptr<Module> operator[](size_t index) const { return ptr(index); }
  /// The module at `index` as a T (LinearImpl, ...); throws if it is another type.
  template <typename T>
  std::shared_ptr<T> ptr(size_t index) const {
    return detail::module_as<T>("Sequential", std::to_string(index), ptr(index));
  }
  template <typename T>
  T& at(size_t index) const {
    return *ptr<T>(index);
  }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

  /// Replaces the module at `index` (its forward is what the chain calls from then on).
  void replace(size_t index, AnyModule module);
  /// Refused: the chain needs each module's forward, which a plain Module does not carry; use
  /// replace(index, module).
  void replace_module(const std::string& name, std::shared_ptr<Module> module) override;

 private:
  // The chain when every module maps a tensor to a tensor: no type-erased values.
  Tensor forward_tensors(const Tensor& input);
  // Recomputes all_tensor_to_tensor_ and fuses_relu_ after the modules changed.
  void update_fast_paths();
  std::vector<AnyModule> modules_;
  bool all_tensor_to_tensor_ = true;
  // fuses_relu_[i]: module i is a LinearImpl and module i + 1 a ReLUImpl (exactly those types, so
  // that their forwards are the ones fused).
  std::vector<bool> fuses_relu_;
};
BG_MODULE(Sequential);

/// A list of modules, for the owner's forward to use as it likes (it has no forward).
class ModuleListImpl : public Module {
 public:
  ModuleListImpl() : Module("ModuleList") {}
  /// The modules in order, as holders or shared_ptrs.
  template <typename... Modules>
  requires(sizeof...(Modules) > 0) explicit ModuleListImpl(Modules&&... modules)
      : ModuleListImpl() {
    (push_back(std::forward<Modules>(modules)), ...);
  }

  /// Appends a module, named by its index.
  template <typename M>
  void push_back(std::shared_ptr<M> module) {
    append(std::move(module));
  }
  template <typename Impl>
  void push_back(const ModuleHolder<Impl>& holder) {
    append(holder.ptr());
  }

  size_t size() const { return modules_.size(); }
  bool is_empty() const { return modules_.empty(); }
  std::shared_ptr<Module> ptr(size_t index) const;
  std::shared_ptr<Module> operator[](size_t index) const { return ptr(index); }
  /// The module at `index` as a T; throws if it is another type.
  template <typename T>
  std::shared_ptr<T> ptr(size_t index) const {
    return detail::module_as<T>("ModuleList", std::to_string(index), ptr(index));
  }
  template <typename T>
  T& at(size_t index) const {
    return *ptr<T>(index);
  }
  auto begin() const { return modules_.begin(); }
  auto end() const { return modules_.end(); }

 private:
  void append(std::shared_ptr<Module> module);
  std::vector<std::shared_ptr<Module>> modules_;
};
BG_MODULE(ModuleList);

/// Modules by name, in insertion order, for the owner's forward to use (it has no forward).
class ModuleDictImpl : public Module {
 public:
  ModuleDictImpl() : Module("ModuleDict") {}

  /// Adds `module` (holder or shared_ptr) under `key`, a new name without dots.
  template <typename M>
  void insert(std::string key, std::shared_ptr<M> module) {
    add_child(std::move(key), std::move(module));
  }
  template <typename Impl>
  void insert(std::string key, const ModuleHolder<Impl>& holder) {
    add_child(std::move(key), holder.ptr());
  }

  bool contains(const std::string& key) const { return children_.contains(key); }
  size_t size() const { return children_.size(); }
  bool is_empty() const { return children_.empty(); }
  std::vector<std::string> keys() const { return children_.keys(); }
  std::vector<std::shared_ptr<Module>> values() const { return children_.values(); }
  /// The module under `key`; throws listing the keys when absent.
  std::shared_ptr<Module> operator[](const std::string& key) const;
  /// The module under `key` as a T; throws if it is another type.
  template <typename T>
  std::shared_ptr<T> ptr(const std::string& key) const {
    return detail::module_as<T>("ModuleDict", "'" + key + "'", (*this)[key]);
  }
  template <typename T>
  T& at(const std::string& key) const {
    return *ptr<T>(key);
  }
  /// Removes the module under `key` and returns it.
  std::shared_ptr<Module> pop(const std::string& key);
  /// Entries with key() and value(), in insertion order.
  auto begin() const { return children_.begin(); }
  auto end() const { return children_.end(); }
};
BG_MODULE(ModuleDict);

}  // namespace bg::nn

BG_API_END
