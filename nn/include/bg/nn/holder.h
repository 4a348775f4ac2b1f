#pragma once
// The holder pattern of LibTorch: `LinearImpl` is the module, `Linear` a shared handle to one.
//
//   nn::Linear lin(20, 1);     // makes a LinearImpl
//   lin->weight;               // members through ->
//   lin(x);                    // calls forward
//   nn::Linear empty = nullptr;
//
// BG_MODULE(Linear) declares `Linear` from `LinearImpl`. AnyModule (any_module.h) holds any module
// behind one type, whatever its forward's signature.

#include <memory>
#include <type_traits>

#include "bg/core/api.h"
#include "bg/nn/any_module.h"
#include "bg/nn/module.h"

BG_API_BEGIN

namespace bg::nn {

namespace detail {
/// True when `module.forward(arguments...)` compiles.
template <typename Impl, typename... Arguments>
concept ForwardAccepts = requires(Impl& module, Arguments&&... arguments) {
  module.forward(std::forward<Arguments>(arguments)...);
};
/// Always false; its template arguments are what the compiler prints when the static_assert in
/// ModuleHolder::operator() fails, so the message names the module and the argument types.
template <typename Impl, typename... Arguments>
struct ForwardIsNotCallableWith : std::false_type {};
}  // namespace detail

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

  /// Calls the module's forward. A forward that does not take these arguments is one compile error
  /// naming the module and the argument types (not a page of failed overloads).
  template <typename... Args>
  decltype(auto) operator()(Args&&... args) const {
    if constexpr (detail::ForwardAccepts<Impl, Args...>) {
      return checked()->forward(std::forward<Args>(args)...);
    } else {
      static_assert(detail::ForwardIsNotCallableWith<Impl, Args...>::value,
                    "the module's forward cannot be called with these arguments: see the module "
                    "type (Impl) and the argument types (Args) above");
    }
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

}  // namespace bg::nn

BG_API_END

/// Declares the holder `Name` of the module class `NameImpl`.
#define BG_MODULE(Name)                                     \
  class Name : public ::bg::nn::ModuleHolder<Name##Impl> {  \
   public:                                                  \
    using ::bg::nn::ModuleHolder<Name##Impl>::ModuleHolder; \
  }
