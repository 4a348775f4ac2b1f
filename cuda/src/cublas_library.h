#pragma once
// cuBLAS, opened on first use instead of linked. libcublas needs libcublasLt, a 540 MB library:
// merely loading it costs a program about 200 MB of memory and a fraction of a second at start,
// GPU or not. Linked, every bayesgrad program of a CUDA build would pay that, including CPU-only
// ones; opened here, only a program that multiplies matrices on a GPU does. Exported from a shared
// libbayesgrad_cuda for tests/cuda, which tests the loader directly (Note [Exported API]).

#include <cublas_v2.h>

#include "bg/core/api.h"

BG_API_BEGIN

namespace bg::cuda {

/// The cuBLAS functions the backend calls.
struct CublasLibrary {
  decltype(&cublasCreate_v2) create;
  decltype(&cublasSetStream_v2) set_stream;
  decltype(&cublasSgemmStridedBatched) sgemm_strided_batched;
  decltype(&cublasDgemmStridedBatched) dgemm_strided_batched;
  decltype(&cublasGetStatusName) status_name;
  decltype(&cublasGetStatusString) status_string;
};

/// The functions of libcublas.so.<major version of the headers>, opened on the first call (from
/// the library path, else from the toolkit's directory found at build time); throws bg::Error
/// naming the library when it cannot be opened or lacks a function.
const CublasLibrary& cublas();

}  // namespace bg::cuda

BG_API_END
