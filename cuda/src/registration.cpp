// Note [Registering the CUDA backend]
// Core does not link the CUDA backend: the backend installs itself in core's backend table, from
// this file's static initializer. The file is compiled once, as an object of its own
// (bayesgrad_cuda_registration), which bg::core's usage requirements link into every program and
// shared library that links bg::core, bg::nn or bg::bayes in a build with the CUDA backend
// (cuda/CMakeLists.txt); so they all get the backend with nothing to do. An object, not an archive
// member: the linker keeps every object it is given, with its initializer, while it drops archive
// members that nothing references and, with --as-needed, shared libraries that nothing
// references. The call below is that reference: it pulls the backend out of a static
// libbayesgrad_cuda.a, and makes a shared libbayesgrad_cuda.so needed.
//
// Registering probes no device (CudaBackend calls CUDA only when used), so a program that never
// touches a GPU still starts on a machine without one, or without a driver.

#include "registration.h"

namespace {

[[maybe_unused]] const bool registered = [] {
  bg::cuda::detail::register_backend();
  return true;
}();

}  // namespace
