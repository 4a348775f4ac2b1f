#pragma once
// The CUDA backend: a kernel for every primitive of the backend interface (bg/core/backend.h),
// and the fused Gaussian (gaussian.cu), optimizer (optimizer_update.cu) and recurrent-cell
// (recurrent.cu) kernels. Each kernel
// family has its own file; host code that only calls the CUDA runtime or cuBLAS (copies between
// devices, matmul) is plain C++.
//
// Every method first makes the output's device current (use_device) and queues its work on that
// device's stream (Note [One stream per device]); nothing waits for the GPU except copies to the
// host.

#include "bg/core/backend.h"

namespace bg::cuda {

class CudaBackend final : public Backend,
                          public GaussianKernels,
                          public OptimizerKernels,
                          public RecurrentKernels {
 public:
  Allocator& allocator(Device device) override;
  int device_count() override;
  void synchronize() override;
  GaussianKernels* gaussian_kernels() override { return this; }
  OptimizerKernels* optimizer_kernels() override { return this; }
  RecurrentKernels* recurrent_kernels() override { return this; }

#define BG_KERNEL(name, parameters, arguments) void name parameters override;
#include "bg/core/backend_primitives.def"
#include "bg/core/gaussian_kernels.def"
#include "bg/core/optimizer_kernels.def"
#include "bg/core/recurrent_kernels.def"
#undef BG_KERNEL
};

// ---- Helpers the kernel files share (backend.cpp) -----------------------------------------------

/// A new contiguous tensor on `device` (no autograd).
Tensor empty_on(const Shape& sizes, Dtype dtype, Device device);

/// t itself when contiguous, else a contiguous copy on its device.
Tensor contiguous_on_device(const Tensor& t);

/// A strided copy with dtype conversion between tensors on the same GPU (copy_fill.cu).
void copy_on_device(const Tensor& dst, const Tensor& src);

}  // namespace bg::cuda
