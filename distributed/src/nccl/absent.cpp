// bg::dist in a build without NCCL: collectives and DataParallel on CUDA tensors throw, saying
// what the build lacks (nccl/engine.cpp and nccl/transport.cpp replace this file when it has it).

#include "engine.h"
#include "transport.h"

namespace bg::dist::detail {
namespace {

// Why this build cannot move GPU memory between ranks.
#ifdef BG_WITH_CUDA
constexpr const char* kMissing =
    "NCCL was not found when bayesgrad was configured (nccl.h and libnccl under the CUDA "
    "toolkit); install it and reconfigure";
#else
constexpr const char* kMissing =
    "bayesgrad was built without the CUDA backend (BG_CUDA=OFF, or no nvcc)";
#endif

[[noreturn]] void missing_nccl(const char* op, Device device) {
  throw Error(bg::detail::concat(op, ": collectives on ", device.str(), " tensors need NCCL, but ",
                                 kMissing, "; or move the tensors to the CPU with .to(bg::kCPU)"));
}

}  // namespace

Engine& nccl_engine(const char* op, Device device) { missing_nccl(op, device); }

std::unique_ptr<Transport> nccl_transport(const char* op, Device device) {
  missing_nccl(op, device);
}

}  // namespace bg::dist::detail
