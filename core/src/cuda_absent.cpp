// bg::cuda in a build without the CUDA backend (cuda/ defines these functions when it is built).

#include "bg/core/cuda.h"

namespace bg::cuda {

bool is_available() { return false; }
int device_count() { return 0; }
void synchronize() {}

}  // namespace bg::cuda
