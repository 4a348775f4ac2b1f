// cuBLAS is opened at run time (cuda/src/cublas_library.h). Opening it needs no GPU, so this case
// runs on every machine of a CUDA build, CI included.

#include <doctest/doctest.h>

#include <string>

#include "cublas_library.h"

TEST_CASE("cuBLAS opens at run time with every function the backend calls") {
  const bg::cuda::CublasLibrary& library = bg::cuda::cublas();
  CHECK((library.create != nullptr));
  CHECK((library.set_stream != nullptr));
  CHECK((library.sgemm_strided_batched != nullptr));
  CHECK((library.dgemm_strided_batched != nullptr));
  // A status name comes from the library itself: a call that needs no device.
  CHECK(std::string(library.status_name(CUBLAS_STATUS_NOT_INITIALIZED)) ==
        "CUBLAS_STATUS_NOT_INITIALIZED");
  CHECK(&bg::cuda::cublas() == &library);  // opened once
}
