#pragma once
// The holder pattern of LibTorch: `LinearImpl` is the module, `Linear` a shared handle to one.
//
//   nn::Linear lin(20, 1);     // makes a LinearImpl
//   lin->weight;               // members through ->
//   lin(x);                    // calls forward
//   nn::Linear empty = nullptr;
//
// BG_MODULE(Linear) declares `Linear` from `LinearImpl`. AnyModule type-erases any module with a
// Tensor -> Tensor forward (what Sequential and BayesianModule hold).

#include <functional>
#include <memory>
#include <type_traits>

#include "bg/nn/module.h"

namespace bg::nn {

template <typename Impl>
class ModuleHolder {
 public:
  using ImplType = Impl;

  /// A default-constructed module, when Impl has a default constructor.
  ModuleHolder() : impl_(make_default()) {}
  /// An empty holder, to be assigned later.
  ModuleHolder(std::nullptr_t) {}  // NOLINT
  /// Constructs the module from the arguments of Impl's constructor.
  template <
      typename First, typename... Rest,
      typename = std::enable_if_t<!std::is_same_v<std::decay_t<First>, ModuleHolder> &&
                                  !std::is_same_v<std::decay_t<First>, std::nullptr_t> &&
                                  !std::is_same_v<std::decay_t<First>, std::shared_ptr<Impl>>>>
  explicit ModuleHolder(First&& first, Rest&&... rest)
      : impl_(std::make_shared<Impl>(std::forward<First>(first), std::forward<Rest>(rest)...)) {}
  /// Wraps an existing module.
  ModuleHolder(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}  // NOLINT

  Impl* operator->() const { return checked(); }
  Impl& operator*() const { return *checked(); }
  Impl* get() const { return impl_.get(); }
  const std::shared_ptr<Impl>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }
  explicit operator bool() const { return impl_ != nullptr; }

  /// Indexes the module (Sequential, ModuleList, ModuleDict): `seq[1]`.
  template <typename Key>
  decltype(auto) operator[](Key&& key) const {
    return (*checked())[std::forward<Key>(key)];
  }

  /// Calls the module's forward.
  template <typename... Args>
  decltype(auto) operator()(Args&&... args) const {
    return checked()->forward(std::forward<Args>(args)...);
  }

 private:
  static std::shared_ptr<Impl> make_default() {
    static_assert(std::is_default_constructible_v<Impl>,
                  "this module has no default constructor: pass its arguments, or write "
                  "`Name name = nullptr;` to create an empty holder");
    return std::make_shared<Impl>();
  }
  Impl* checked() const {
    BG_CHECK(impl_ != nullptr, "ModuleHolder", "this module holder is empty (nullptr)");
    return impl_.get();
  }
  std::shared_ptr<Impl> impl_;
};

/// Prints the module a holder points at.
template <typename Impl>
std::ostream& operator<<(std::ostream& out, const ModuleHolder<Impl>& holder) {
  return out << *holder;
}

/// Any module whose forward maps one tensor to one tensor, behind one type.
class AnyModule {
 public:
  AnyModule() = default;
  template <typename M>
  AnyModule(std::shared_ptr<M> module)  // NOLINT: converts implicitly, as a holder does
      : module_(module), forward_([m = module.get()](const Tensor& x) { return m->forward(x); }) {}
  template <typename Impl>
  AnyModule(const ModuleHolder<Impl>& holder) : AnyModule(holder.ptr()) {}  // NOLINT

  Tensor forward(const Tensor& x) const {
    BG_CHECK(forward_ != nullptr, "AnyModule", "no module was given");
    return forward_(x);
  }
  const std::shared_ptr<Module>& ptr() const { return module_; }

 private:
  std::shared_ptr<Module> module_;
  std::function<Tensor(const Tensor&)> forward_;
};

}  // namespace bg::nn

/// Declares the holder `Name` of the module class `NameImpl`.
#define BG_MODULE(Name)                                     \
  class Name : public ::bg::nn::ModuleHolder<Name##Impl> {  \
   public:                                                  \
    using ::bg::nn::ModuleHolder<Name##Impl>::ModuleHolder; \
  }
