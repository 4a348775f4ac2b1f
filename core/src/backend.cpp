#include "bg/core/backend.h"

#include <algorithm>
#include <array>

#include "cpu_dispatch.h"
#include "ops/op_utils.h"

namespace bg {

namespace {
// The backends registered. The CPU's entry stays null until one is registered, standing for the
// copy of the CPU backend that this CPU runs (cpu_dispatch.cpp): that copy is chosen on first use,
// not when the CUDA backend registers itself from a static initializer, where a bad
// BG_CPU_KERNELS could only end the program instead of throwing.
std::array<Backend*, kNumDeviceTypes>& table() {
  static std::array<Backend*, kNumDeviceTypes> backends{};
  return backends;
}
}  // namespace

Backend& backend(DeviceType type) {
  Backend* b = find_backend(type);
  BG_CHECK(b != nullptr, "backend", Device(type).str(),
           " is not available: this build of bayesgrad has no CUDA backend (configure with "
           "-DBG_CUDA=ON on a machine with the CUDA toolkit)");
  // Devices are probed here, on first use, not when the backend registers: a program that never
  // touches a GPU starts on machines without one (or without a driver).
  BG_CHECK(type == DeviceType::CPU || b->device_count() > 0, "cuda",
           "no CUDA device is available (no GPU, or no driver); bg::cuda::is_available() tells "
           "before tensors are placed on one");
  return *b;
}

Backend* find_backend(DeviceType type) {
  Backend* b = table()[static_cast<size_t>(type)];
  return b == nullptr && type == DeviceType::CPU ? &cpu::dispatched_backend() : b;
}

void register_backend(DeviceType type, Backend* backend) {
  table()[static_cast<size_t>(type)] = backend;
}

ReductionBlock reduction_block(const Tensor& in, const Shape& dims) {
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
                          const Shape& dims) {
  size_t run_start = dims.size() - 1;
  while (run_start > 0 && dims[run_start - 1] == dims[run_start] - 1) --run_start;
  if (!in.is_contiguous() || run_start == 0) return false;
  const Shape inner(dims.begin() + static_cast<int64_t>(run_start), dims.end());
  const Shape outer(dims.begin(), dims.begin() + static_cast<int64_t>(run_start));
  const Tensor partial = detail::empty_tensor(
      "reduce", detail::reduced_shape(in.sizes(), inner, true), in.dtype(), in.device());
  backend.reduce(op, partial, in, inner);
  backend.reduce(op, out, partial, outer);
  return true;
}

}  // namespace bg
