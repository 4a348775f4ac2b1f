#pragma once
// How the CUDA backend is installed in core's backend table (Note [Registering the CUDA backend] in
// registration.cpp). Exported from a shared libbayesgrad_cuda: the registration object that calls
// it is linked into the programs that use bayesgrad (Note [Exported API] in bg/core/api.h).

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::cuda::detail {

/// Installs the CUDA backend for DeviceType::CUDA (bg::register_backend); probes no device.
void register_backend();

}  // namespace bg::cuda::detail

BG_API_END
