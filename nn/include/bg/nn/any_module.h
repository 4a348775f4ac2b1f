#pragma once
// AnyModule: any module behind one type, whatever its forward takes and returns (LibTorch's
// AnyModule). Sequential, BayesianModule and DataParallel hold their module as one.
//
//   nn::AnyModule any(nn::Linear(3, 4));
//   Tensor y = any.forward(x);                                   // Tensor -> Tensor
//   nn::AnyModule lstm(nn::LSTM(3, 4));
//   auto [out, state] = lstm.forward<std::tuple<Tensor, std::tuple<Tensor, Tensor>>>(x);
//   lstm.forward(x);   // bg::Error: LSTM's forward returns a tuple, not a Tensor
//
// The forward's signature is read at compile time from `&Module::forward`, so it must be one
// function (not overloaded, not a template). Arguments are matched by type at run time: each must
// be the parameter's type (after removing const and &), or a U for a std::optional<U> parameter.
// A mismatch throws bg::Error naming the module, what its forward takes and what it was given.
//
// Default arguments are invisible to `&Module::forward`; a module declares them for AnyModule with
// BG_FORWARD_DEFAULT_ARGS, listing the defaults of its last parameters:
//
//   std::tuple<Tensor, Tensor> forward(const Tensor& input, Tensor hx = {});
//   BG_FORWARD_DEFAULT_ARGS(Tensor())
//
// A module whose forward is a template (Sequential, which passes any arguments to its first
// module) defines `AnyValue any_forward(std::vector<AnyValue> arguments)` instead, which AnyModule
// calls with the arguments type-erased.

#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "bg/core/api.h"
#include "bg/nn/any_value.h"
#include "bg/nn/module.h"

/// Declares the default values of the last parameters of a module's forward, so that AnyModule
/// can call it without them: BG_FORWARD_DEFAULT_ARGS(Tensor()) for `forward(x, Tensor hx = {})`.
#define BG_FORWARD_DEFAULT_ARGS(...) \
  static auto forward_default_args() { return std::make_tuple(__VA_ARGS__); }

BG_API_BEGIN

namespace bg::nn {

template <typename Impl>
class ModuleHolder;

namespace detail {

/// "(bg::Tensor, int)": the names of the types in `types`.
std::string type_list(const std::vector<const std::type_info*>& types);

/// The names of the arguments' types, as type_list writes them.
std::string argument_types(const std::vector<AnyValue>& arguments);

/// True when M defines any_forward, the type-erased forward of a module whose forward is a
/// template.
template <typename M>
concept HasAnyForward = requires(M& m, std::vector<AnyValue> arguments) {
  { m.any_forward(std::move(arguments)) } -> std::same_as<AnyValue>;
};

/// True when M's forward is one function whose signature `&M::forward` names.
template <typename M>
concept HasOneForward = requires {
  &M::forward;
};

/// True when `m.forward(x)` compiles for a tensor x and returns a Tensor: AnyModule then calls it
/// directly for one tensor, with no type-erased values.
template <typename M>
concept TensorToTensor = requires(M& m, const Tensor& x) {
  { m.forward(x) } -> std::same_as<Tensor>;
};

/// The number of default arguments M declares with BG_FORWARD_DEFAULT_ARGS.
template <typename M>
constexpr size_t default_argument_count() {
  if constexpr (requires { M::forward_default_args(); }) {
    return std::tuple_size_v<decltype(M::forward_default_args())>;
  } else {
    return 0;
  }
}

/// Calls M's forward, a member function `R (M::*)(Parameters...)`, with type-erased arguments.
template <typename M, typename R, typename... Parameters>
class ErasedForward {
 public:
  static constexpr size_t kArity = sizeof...(Parameters);
  static constexpr size_t kDefaults = default_argument_count<M>();
  static_assert(!std::is_void_v<R>, "AnyModule: the module's forward must return a value");
  static_assert(((!std::is_reference_v<Parameters> ||
                  std::is_const_v<std::remove_reference_t<Parameters>>)&&...),
                "AnyModule: the module's forward must take its arguments by value or by const "
                "reference");
  static_assert(kDefaults <= kArity,
                "AnyModule: BG_FORWARD_DEFAULT_ARGS lists more values than forward has parameters");

  static AnyValue call(M& module, std::vector<AnyValue> arguments, const std::string& name) {
    const auto given = static_cast<std::ptrdiff_t>(arguments.size());
    add_defaults(arguments);
    const bool types_match = arguments.size() == kArity && matches(arguments, Indices());
    if (!types_match) {
      arguments.erase(arguments.begin() + given, arguments.end());  // name what the caller gave
      throw Error(bg::detail::concat(
          "AnyModule: ", name, "'s forward takes (", type_list({&typeid(Parameters)...}), ")",
          kDefaults > 0 ? bg::detail::concat(", the last ", kDefaults, " with defaults,") : "",
          " but was called with (", argument_types(arguments), ")"));
    }
    return invoke(module, arguments, Indices());
  }

 private:
  using Indices = std::index_sequence_for<Parameters...>;
  template <size_t I>
  using Parameter = std::decay_t<std::tuple_element_t<I, std::tuple<Parameters...>>>;

  // Appends the defaults of the parameters the call left out.
  static void add_defaults(std::vector<AnyValue>& arguments) {
    if constexpr (kDefaults > 0) {
      const size_t given = arguments.size();
      if (given >= kArity || given + kDefaults < kArity) return;
      std::apply(
          [&](auto&&... values) {
            size_t position = kArity - kDefaults;  // the parameter the first default belongs to
            ((position++ >= given ? (void)arguments.emplace_back(values) : (void)0), ...);
          },
          M::forward_default_args());
    }
  }
  template <size_t... I>
  static bool matches(const std::vector<AnyValue>& arguments, std::index_sequence<I...>) {
    return (arguments[I].template is<Parameter<I>>() && ...);
  }
  template <size_t... I>
  static AnyValue invoke(M& module, const std::vector<AnyValue>& arguments,
                         std::index_sequence<I...>) {
    return AnyValue(module.forward(arguments[I].template get<Parameter<I>>()...));
  }
};

template <typename M, typename Signature>
struct ForwardOf;
template <typename M, typename R, typename C, typename... Parameters>
struct ForwardOf<M, R (C::*)(Parameters...)> {
  using Type = ErasedForward<M, R, Parameters...>;
};
template <typename M, typename R, typename C, typename... Parameters>
struct ForwardOf<M, R (C::*)(Parameters...) const> {
  using Type = ErasedForward<M, R, Parameters...>;
};
template <typename M, typename R, typename C, typename... Parameters>
struct ForwardOf<M, R (C::*)(Parameters...) noexcept> {
  using Type = ErasedForward<M, R, Parameters...>;
};
template <typename M, typename R, typename C, typename... Parameters>
struct ForwardOf<M, R (C::*)(Parameters...) const noexcept> {
  using Type = ErasedForward<M, R, Parameters...>;
};

}  // namespace detail

class AnyModule {
 public:
  /// An empty AnyModule (ptr() is null; forward throws).
  AnyModule() = default;
  /// Holds `module`, a module whose forward is one function or that defines any_forward.
  template <typename M>
  requires std::derived_from<M, Module> AnyModule(std::shared_ptr<M> module)  // NOLINT
      : module_(module) {
    static_assert(detail::HasAnyForward<M> || detail::HasOneForward<M>,
                  "AnyModule: the module's forward must be one function, not overloaded and not a "
                  "template (give optional parameters default values and declare them with "
                  "BG_FORWARD_DEFAULT_ARGS), or the module must define any_forward");
    forward_ = std::make_shared<Erased<M>>(module.get());
  }
  /// Holds the module a holder (nn::Linear, ...) points at.
  template <typename Impl>
  AnyModule(const ModuleHolder<Impl>& holder) : AnyModule(holder.ptr()) {}  // NOLINT

  /// Calls the module's forward with `arguments` and returns its result as an R (a Tensor unless
  /// given): `any.forward(x)`, `any.forward<std::tuple<Tensor, Tensor>>(x, h0)`. Throws bg::Error
  /// naming the module and the types when the arguments or R do not match its forward.
  template <typename R = Tensor, typename... Arguments>
  R forward(Arguments&&... arguments) const {
    if constexpr (std::is_same_v<R, Tensor> && sizeof...(Arguments) == 1 &&
                  (std::is_same_v<std::decay_t<Arguments>, Tensor> && ...)) {
      return erased().forward_tensor(arguments...);
    } else {
      std::vector<AnyValue> values;
      values.reserve(sizeof...(Arguments));
      (values.emplace_back(std::forward<Arguments>(arguments)), ...);
      const AnyValue result = erased().forward(std::move(values));
      BG_CHECK(result.is<R>(), "AnyModule", erased().name(), "'s forward returns ",
               result.type_name(), ", not ", type_name(typeid(R)), ": call forward<",
               result.type_name(), ">(...)");
      return result.get<R>();
    }
  }

  /// Calls the module's forward with type-erased arguments and returns its type-erased result.
  AnyValue any_forward(std::vector<AnyValue> arguments) const {
    return erased().forward(std::move(arguments));
  }

  /// True when the module's forward maps one tensor to one tensor, so forward(x) needs no
  /// type-erased values (false for an empty AnyModule).
  bool is_tensor_to_tensor() const { return forward_ != nullptr && forward_->tensor_to_tensor(); }

  const std::shared_ptr<Module>& ptr() const { return module_; }
  bool is_empty() const { return module_ == nullptr; }

 private:
  // The module's forward, its signature erased.
  class ErasedBase {
   public:
    virtual ~ErasedBase() = default;
    virtual AnyValue forward(std::vector<AnyValue> arguments) const = 0;
    virtual Tensor forward_tensor(const Tensor& input) const = 0;
    virtual bool tensor_to_tensor() const = 0;
    virtual std::string name() const = 0;
  };

  template <typename M>
  class Erased final : public ErasedBase {
   public:
    explicit Erased(M* module) : module_(module) {}
    AnyValue forward(std::vector<AnyValue> arguments) const override {
      if constexpr (detail::HasAnyForward<M>) {
        return module_->any_forward(std::move(arguments));
      } else if constexpr (detail::HasOneForward<M>) {  // else: the constructor's static_assert
        using Forward = typename detail::ForwardOf<M, decltype(&M::forward)>::Type;
        return Forward::call(*module_, std::move(arguments), name());
      }
    }
    Tensor forward_tensor(const Tensor& input) const override {
      if constexpr (detail::TensorToTensor<M>) {
        return module_->forward(input);
      } else {
        std::vector<AnyValue> arguments;
        arguments.emplace_back(input);
        const AnyValue result = forward(std::move(arguments));
        BG_CHECK(result.is<Tensor>(), "AnyModule", name(), "'s forward returns ",
                 result.type_name(), ", not ", type_name(typeid(Tensor)), ": call forward<",
                 result.type_name(), ">(...)");
        return result.get<Tensor>();
      }
    }
    bool tensor_to_tensor() const override { return detail::TensorToTensor<M>; }
    std::string name() const override { return type_name(typeid(M)); }

   private:
    M* module_;  // owned by AnyModule::module_
  };

  const ErasedBase& erased() const {
    BG_CHECK(forward_ != nullptr, "AnyModule", "no module was given");
    return *forward_;
  }

  std::shared_ptr<Module> module_;
  std::shared_ptr<const ErasedBase> forward_;
};

}  // namespace bg::nn

BG_API_END
