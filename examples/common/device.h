#pragma once
// The --device option of the examples: "cpu" (the default), "cuda" or "cuda:N".

#include <bg/core.h>

#include <string>

namespace examples {

/// The device `name` names; throws bg::Error for anything else.
inline bg::Device parse_device(const std::string& name) {
  if (name == "cpu") return bg::Device::cpu();
  if (name == "cuda") return bg::Device::cuda();
  BG_CHECK(name.rfind("cuda:", 0) == 0 && name.size() > 5 &&
               name.find_first_not_of("0123456789", 5) == std::string::npos,
           "--device", "expected cpu, cuda or cuda:N, got '", name, "'");
  return bg::Device::cuda(static_cast<int16_t>(std::stoi(name.substr(5))));
}

}  // namespace examples
