#include "cublas_library.h"

#include <dlfcn.h>

#include <string>
#include <type_traits>

#include "bg/core/error.h"

namespace bg::cuda {

namespace {

// The soname the headers were written for: a cuBLAS of another major version has another ABI.
const std::string kSoname = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);

void* open_library() {
  if (void* handle = dlopen(kSoname.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
  const std::string first_error = dlerror();
  // The toolkit's own directory (BG_CUDA_LIBRARY_DIR, from CMake) is rarely on the library path.
  const std::string in_toolkit = std::string(BG_CUDA_LIBRARY_DIR) + "/" + kSoname;
  if (void* handle = dlopen(in_toolkit.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
  throw Error(bg::detail::concat("cublas: cannot open ", kSoname, " (", first_error, ") nor ",
                                 in_toolkit, " (", dlerror(), ")"));
}

template <typename Function>
void load(void* handle, const char* name, Function& function) {
  void* address = dlsym(handle, name);
  BG_CHECK(address != nullptr, "cublas", kSoname, " has no function ", name);
  function = reinterpret_cast<Function>(address);
}

}  // namespace

const CublasLibrary& cublas() {
  static const CublasLibrary library = [] {
    void* handle = open_library();  // kept open for the life of the process
    CublasLibrary functions{};
    load(handle, "cublasCreate_v2", functions.create);
    load(handle, "cublasSetStream_v2", functions.set_stream);
    load(handle, "cublasSgemmStridedBatched", functions.sgemm_strided_batched);
    load(handle, "cublasDgemmStridedBatched", functions.dgemm_strided_batched);
    load(handle, "cublasGetStatusName", functions.status_name);
    load(handle, "cublasGetStatusString", functions.status_string);
    return functions;
  }();
  return library;
}

}  // namespace bg::cuda
