#pragma once
// The CPU backend: Eigen for the math, oneTBB for the threads. It implements every kernel of the
// backend interface, the fused ones included; each kernel family has its own file (unary.cpp,
// binary.cpp, reduce.cpp, index.cpp, matmul.cpp, random.cpp, softmax.cpp, window.cpp for
// convolution and pooling, gaussian.cpp for the fused Gaussian kernels, optimizer_update.cpp for
// the fused optimizer updates, recurrent.cpp for the LSTM and GRU cells, transformer.cpp for layer
// normalization and softmax's backward).

#include "bg/core/backend.h"

namespace bg::cpu {

class CpuBackend final : public Backend,
                         public GaussianKernels,
                         public OptimizerKernels,
                         public RecurrentKernels,
                         public TransformerKernels {
 public:
  Allocator& allocator(Device) override { return cpu_allocator(); }
  GaussianKernels* gaussian_kernels() override { return this; }
  OptimizerKernels* optimizer_kernels() override { return this; }
  RecurrentKernels* recurrent_kernels() override { return this; }
  TransformerKernels* transformer_kernels() override { return this; }

#define BG_KERNEL(name, parameters, arguments) void name parameters override;
#include "bg/core/backend_primitives.def"
#include "bg/core/gaussian_kernels.def"
#include "bg/core/optimizer_kernels.def"
#include "bg/core/recurrent_kernels.def"
#include "bg/core/transformer_kernels.def"
#undef BG_KERNEL
};

}  // namespace bg::cpu
