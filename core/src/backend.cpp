#include "bg/core/backend.h"

#include <algorithm>
#include <array>

#include "cpu/cpu_backend.h"
#include "ops/op_utils.h"

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

ReductionBlock reduction_block(const Tensor& in, const std::vector<int64_t>& dims) {
  const Shape& sizes = in.sizes();
  const auto ndim = static_cast<int64_t>(sizes.size());
  const auto reduced = [&](int64_t d) { return std::binary_search(dims.begin(), dims.end(), d); };
  ReductionBlock block;
  const bool adjacent = dims.back() - dims.front() + 1 == static_cast<int64_t>(dims.size());
  if (in.is_contiguous() && adjacent) {
    block.data = in;
    for (int64_t d = 0; d < ndim; ++d) {
      (d < dims.front() ? block.A : (d <= dims.back() ? block.R : block.C)) *= sizes[d];
    }
    return block;
  }
  Shape order, permuted_sizes, permuted_strides;
  for (int64_t d = 0; d < ndim; ++d) {
    if (!reduced(d)) order.push_back(d);
  }
  for (int64_t d : dims) order.push_back(d);
  for (int64_t d : order) {
    permuted_sizes.push_back(sizes[d]);
    permuted_strides.push_back(in.strides()[d]);
    (reduced(d) ? block.R : block.A) *= sizes[d];
  }
  const Tensor permuted = detail::alias(in, permuted_sizes, permuted_strides, in.storage_offset());
  block.data = detail::empty_tensor("reduce", permuted_sizes, in.dtype(), in.device());
  backend(in.device().type).copy(block.data, permuted);
  return block;
}

bool reduce_separate_runs(Backend& backend, ReduceOp op, const Tensor& out, const Tensor& in,
                          const std::vector<int64_t>& dims) {
  size_t run_start = dims.size() - 1;
  while (run_start > 0 && dims[run_start - 1] == dims[run_start] - 1) --run_start;
  if (!in.is_contiguous() || run_start == 0) return false;
  const std::vector<int64_t> inner(dims.begin() + static_cast<int64_t>(run_start), dims.end());
  const std::vector<int64_t> outer(dims.begin(), dims.begin() + static_cast<int64_t>(run_start));
  const Tensor partial = detail::empty_tensor(
      "reduce", detail::reduced_shape(in.sizes(), inner, true), in.dtype(), in.device());
  backend.reduce(op, partial, in, inner);
  backend.reduce(op, out, partial, outer);
  return true;
}

}  // namespace bg
