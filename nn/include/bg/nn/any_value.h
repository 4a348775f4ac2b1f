#pragma once
// AnyValue: a value of any copyable type whose type is known only at run time. AnyModule passes
// the arguments and the result of a module's forward as AnyValues when it does not know the
// forward's signature at compile time (LibTorch's AnyValue).
//
//   AnyValue state(std::make_tuple(h, c));
//   state.type_name();                              // "std::tuple<bg::Tensor, bg::Tensor>"
//   auto [h2, c2] = state.get<std::tuple<Tensor, Tensor>>();
//   state.get<Tensor>();                            // bg::Error naming both types

#include <any>
#include <optional>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "bg/core.h"
#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::nn {

/// The readable name of a C++ type ("bg::Tensor", "std::tuple<bg::Tensor, bg::Tensor>").
std::string type_name(const std::type_info& type);

namespace detail {
template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {
  using Value = T;
};
}  // namespace detail

class AnyValue {
 public:
  /// Holds a copy of `value` (or takes it, for an rvalue).
  template <typename T>
  requires(!std::is_same_v<std::decay_t<T>, AnyValue>) explicit AnyValue(T&& value)
      : value_(std::forward<T>(value)) {}

  /// The type of the held value.
  const std::type_info& type_info() const { return value_.type(); }
  /// Its readable name.
  std::string type_name() const { return nn::type_name(value_.type()); }

  /// True when get<T>() succeeds: the value is a T, or T is std::optional<U> and the value is a U
  /// or std::nullopt (a state passed to a parameter that may be left empty).
  template <typename T>
  bool is() const {
    if (value_.type() == typeid(T)) return true;
    if constexpr (detail::IsOptional<T>::value) {
      return value_.type() == typeid(typename detail::IsOptional<T>::Value) ||
             value_.type() == typeid(std::nullopt_t);
    }
    return false;
  }

  /// The value as a T (see is()); throws bg::Error naming both types otherwise.
  template <typename T>
  T get() const {
    if (const T* value = std::any_cast<T>(&value_)) return *value;
    if constexpr (detail::IsOptional<T>::value) {
      using Value = typename detail::IsOptional<T>::Value;
      if (const Value* value = std::any_cast<Value>(&value_)) return T(*value);
      if (value_.type() == typeid(std::nullopt_t)) return T();
    }
    throw Error(bg::detail::concat("AnyValue: the value is a ", type_name(), ", not a ",
                                   nn::type_name(typeid(T))));
  }

 private:
  std::any value_;
};

}  // namespace bg::nn

BG_API_END
