// The type names of AnyValue and AnyModule's messages.

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

#include "bg/nn/any_module.h"

namespace bg::nn {

std::string type_name(const std::type_info& type) {
  // The ABI's demangler (GCC, Clang) turns "N2bg6TensorE" into "bg::Tensor".
  int status = 0;
  const std::unique_ptr<char, void (*)(void*)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && demangled ? std::string(demangled.get()) : std::string(type.name());
}

namespace detail {

std::string type_list(const std::vector<const std::type_info*>& types) {
  std::string out;
  for (const std::type_info* type : types) out += (out.empty() ? "" : ", ") + type_name(*type);
  return out;
}

std::string argument_types(const std::vector<AnyValue>& arguments) {
  std::vector<const std::type_info*> types;
  for (const AnyValue& argument : arguments) types.push_back(&argument.type_info());
  return type_list(types);
}

}  // namespace detail

}  // namespace bg::nn
