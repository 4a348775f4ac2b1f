#include "bg/core/backend.h"

#include <array>

#include "cpu/cpu_backend.h"

#if defined(BG_WITH_CUDA)
namespace bg::cuda::detail {
// Defined by bg::cuda (cuda/src/backend.cpp): the CUDA backend, created on first use; throws when
// no GPU is present.
Backend& cuda_backend();
}  // namespace bg::cuda::detail
#endif

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
#if defined(BG_WITH_CUDA)
  // The CUDA backend is reached through this call instead of registering itself from a static
  // initializer in cuda/: a static library's objects that nothing references are dropped by the
  // linker, with their initializers. A build with cuda/ compiles this file with BG_WITH_CUDA, and
  // the call is what links the backend into every program that uses core, with nothing for users
  // to do. Devices are probed on first use, so a program that never touches CUDA runs on machines
  // without a GPU (or a driver).
  if (b == nullptr && type == DeviceType::CUDA) return cuda::detail::cuda_backend();
#endif
  BG_CHECK(b != nullptr, "backend", Device(type).str(),
           " is not available: this build of bayesgrad has no CUDA backend (configure with "
           "-DBG_CUDA=ON on a machine with the CUDA toolkit)");
  return *b;
}

void register_backend(DeviceType type, Backend* backend) {
  table()[static_cast<size_t>(type)] = backend;
}

}  // namespace bg
