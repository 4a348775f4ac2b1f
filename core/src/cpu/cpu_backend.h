#pragma once
// The CPU backend: Eigen for the math, oneTBB for the threads. It implements every kernel of the
// backend interface, the fused ones included; each kernel family has its own file (unary.cpp,
// binary.cpp, reduce.cpp, index.cpp, matmul.cpp, random.cpp, softmax.cpp, window.cpp for
// convolution and pooling, gaussian.cpp for the fused Gaussian kernels, optimizer_update.cpp for
// the fused optimizer updates, recurrent.cpp for the LSTM and GRU cells, transformer.cpp for layer
// normalization and softmax's backward).
//
// Note [One backend per instruction set]
// Everything in src/cpu/ is compiled several times, once per instruction-set level (on x86-64:
// avx512, avx2 and baseline; core/CMakeLists.txt), each time into its own namespace
// bg::cpu::BG_CPU_ISA, and cpu_dispatch.cpp picks the copy the CPU can run when the backend is
// first used. Code written for a wider instruction set (the AVX-512 GEMM, the vector windows) is
// chosen at compile time inside a copy, by the __AVX512F__ etc. macros of its compiler flags.
// Templates and inline functions that every copy instantiates under the same name (Eigen's, the
// standard library's, bayesgrad's headers') would be merged by the linker into one, possibly
// built for AVX-512 and called from the baseline copy; so where there are several copies, each is
// linked into one object whose only global symbol is its backend() below, every other one made
// local to it.

#include "bg/core/backend.h"

#ifndef BG_CPU_ISA
#error "src/cpu/ is compiled with BG_CPU_ISA naming its instruction set (core/CMakeLists.txt)"
#endif

namespace bg::cpu::BG_CPU_ISA {

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

/// This copy's backend, created on first use: the entry point that cpu_dispatch.cpp calls.
Backend& backend();

}  // namespace bg::cpu::BG_CPU_ISA
