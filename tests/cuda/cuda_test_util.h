#pragma once
// Helpers of the CUDA suite: the skip decorator, and the parity check that runs one function on
// the CPU and on the GPU and compares everything it produces.

#include <string>
#include <vector>

#include "test_util.h"

namespace bg::test {

/// True without a GPU: every test suite of tests/cuda is declared with
/// `* doctest::skip(test::kNoGpu)`, so its test cases are skipped then.
inline const bool kNoGpu = !cuda::is_available();

/// `inputs` on the GPU: copies with the same values, requiring grad where the originals do.
inline std::vector<Tensor> on_gpu(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) {
    Tensor g = t.detach().to(Device::cuda());
    if (t.requires_grad()) g.requires_grad_();
    out.push_back(g);
  }
  return out;
}

/// `gpu` (brought back to the host) has the sizes, dtype and values of `cpu`, within tolerance.
inline void check_matches(const Tensor& gpu, const Tensor& cpu, double rtol, double atol) {
  REQUIRE(gpu.defined());
  CHECK(gpu.device().is_cuda());
  CHECK(gpu.dtype() == cpu.dtype());
  REQUIRE(gpu.sizes() == cpu.sizes());
  check_close(gpu.cpu(), values(cpu), rtol, atol);
}

/// Runs `fn` on CPU `inputs` and on GPU copies of them, and checks that the outputs agree and, when
/// the output requires grad, that the gradients of sum(out * w) (w a fixed random tensor) with
/// respect to every input that requires grad agree too.
inline void check_parity(const std::string& name, const Function& fn,
                         const std::vector<Tensor>& inputs, double rtol = 1e-10,
                         double atol = 1e-12) {
  INFO("op: ", name);
  std::vector<Tensor> cpu_inputs;
  for (const Tensor& t : inputs) {
    Tensor c = t.detach().clone();
    if (t.requires_grad()) c.requires_grad_();
    cpu_inputs.push_back(c);
  }
  const std::vector<Tensor> gpu_inputs = on_gpu(inputs);
  const Tensor cpu_out = fn(cpu_inputs), gpu_out = fn(gpu_inputs);
  check_matches(gpu_out, cpu_out, rtol, atol);
  if (!cpu_out.requires_grad()) return;
  Generator generator(7);
  const Tensor w = rand(cpu_out.sizes(), TensorOptions(cpu_out.dtype()), &generator);
  (cpu_out * w).sum().backward();
  (gpu_out * w.to(Device::cuda())).sum().backward();
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].requires_grad()) continue;
    INFO("gradient of input ", i);
    check_matches(gpu_inputs[i].grad(), cpu_inputs[i].grad(), rtol, atol);
  }
}

}  // namespace bg::test
