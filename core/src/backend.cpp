#include "bg/core/backend.h"

#include <array>

#include "cpu/cpu_backend.h"

namespace bg {

namespace {
std::array<Backend*, kNumDeviceTypes>& table() {
  static cpu::CpuBackend cpu_backend;
  static std::array<Backend*, kNumDeviceTypes> backends{&cpu_backend, nullptr};
  return backends;
}
}  // namespace

Backend& backend(DeviceType type) {
  Backend* b = table()[static_cast<size_t>(type)];
  BG_CHECK(b != nullptr, "backend", "no backend for device type ", Device(type).str(),
           " is available in this build");
  return *b;
}

void register_backend(DeviceType type, Backend* backend) {
  table()[static_cast<size_t>(type)] = backend;
}

}  // namespace bg
