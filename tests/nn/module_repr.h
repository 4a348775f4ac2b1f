#pragma once
// What a module prints (operator<<, PyTorch's repr()), as a string to compare.

#include <sstream>
#include <string>

#include "bg/nn/module.h"

namespace bg::test {

inline std::string repr(const nn::Module& module) {
  std::ostringstream out;
  out << module;
  return out.str();
}

}  // namespace bg::test
