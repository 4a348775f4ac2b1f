// bg::cuda's questions, answered from core's backend table: the CUDA backend, when a program has
// it, registered itself there at start (cuda/src/registration.cpp).

#include "bg/core/cuda.h"

#include "bg/core/backend.h"

namespace bg::cuda {

bool is_built() { return find_backend(DeviceType::CUDA) != nullptr; }

int device_count() {
  Backend* cuda = find_backend(DeviceType::CUDA);
  return cuda != nullptr ? cuda->device_count() : 0;
}

bool is_available() { return device_count() > 0; }

void synchronize() {
  if (is_available()) backend(DeviceType::CUDA).synchronize();
}

}  // namespace bg::cuda
