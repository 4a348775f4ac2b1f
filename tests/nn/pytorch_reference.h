#pragma once
// Comparing a layer with PyTorch 1.13: the suites of the sequence and attention layers fill a
// module's parameters and make their inputs with the formulas below, run it, and check its
// results, the gradients of its parameters and of its inputs against the numbers PyTorch printed
// for the same module and inputs (float64). Each suite quotes the calls that printed its numbers;
// the Python they share is:
//
//   import torch
//   torch.set_default_dtype(torch.float64)
//   def fill(m):  # parameter i (named_parameters order) = 0.4 sin(0.7 k + i)
//       with torch.no_grad():
//           for i, (_, p) in enumerate(m.named_parameters()):
//               p.copy_((0.4 * torch.sin(0.7 * torch.arange(p.numel()) + i)).reshape(p.shape))
//   def ramp(shape, a, b, f=torch.cos, grad=True):
//       n = 1
//       for s in shape: n *= s
//       return (0.5 * f(a * torch.arange(n) + b)).reshape(shape).requires_grad_(grad)
//   def weights(t, a): return torch.cos(a * torch.arange(t.numel())).reshape(t.shape)
//
// and the loss whose gradients are printed is sum_k (result_k * weights(result_k, 0.11 + 0.02 k))
// .sum(); for each parameter, the sum of its gradient and (grad * weights(grad, 0.19)).sum().

#include <bg/nn.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace bg::test {

/// What PyTorch printed for one module and its inputs.
struct Expected {
  std::vector<std::vector<double>> results;  ///< the module's results, in order
  std::vector<double> parameter_grads;       ///< per parameter: the sum and the weighted sum
  std::vector<std::vector<double>> input_grads;
};

/// The Python's fill(): the module in float64 with parameter i = 0.4 sin(0.7 k + i), in eval mode.
template <typename Holder>
void fill(Holder& module) {
  NoGradGuard no_grad;
  module->to(kFloat64);
  double i = 0;
  for (const auto& item : module->named_parameters()) {
    Tensor p = item.value();
    p.copy_(((arange(p.numel(), kFloat64) * 0.7 + i).sin() * 0.4).reshape(p.sizes()));
    i += 1;
  }
  module->eval();
}

/// The Python's ramp(): 0.5 cos(a k + b) (or sine), float64, requiring grad unless `grad` is false.
inline Tensor ramp(const Shape& sizes, double a, double b, bool sine = false, bool grad = true) {
  const Tensor angle = arange(numel_of(sizes), kFloat64) * a + b;
  Tensor values = ((sine ? angle.sin() : angle.cos()) * 0.5).reshape(sizes);
  return grad ? values.requires_grad_() : values;
}

/// The Python's weights(): cos(a k) in t's shape.
inline Tensor weights(const Tensor& t, double a) {
  return (arange(t.numel(), kFloat64) * a).cos().reshape(t.sizes());
}

/// The results, the parameters' gradients (of `module`; none when null) and the inputs' gradients
/// against PyTorch's.
inline void check_against(const nn::Module* module, const std::vector<Tensor>& results,
                          const std::vector<Tensor>& inputs, const Expected& expected) {
  REQUIRE(results.size() == expected.results.size());
  Tensor loss = zeros({}, kFloat64);
  for (size_t k = 0; k < results.size(); ++k) {
    INFO("result ", k);
    check_close(results[k], expected.results[k], 1e-9, 1e-11);
    loss = loss + (results[k] * weights(results[k], 0.11 + 0.02 * static_cast<double>(k))).sum();
  }
  loss.backward();
  std::vector<double> parameter_grads;
  if (module != nullptr) {
    for (const Tensor& p : module->parameters()) {
      parameter_grads.push_back(p.grad().sum().item<double>());
      parameter_grads.push_back((p.grad() * weights(p.grad(), 0.19)).sum().item<double>());
    }
  }
  {
    INFO("parameter gradients");
    check_close(tensor(parameter_grads, {static_cast<int64_t>(parameter_grads.size())}, kFloat64),
                expected.parameter_grads, 1e-9, 1e-11);
  }
  REQUIRE(inputs.size() == expected.input_grads.size());
  for (size_t k = 0; k < inputs.size(); ++k) {
    INFO("input ", k);
    check_close(inputs[k].grad(), expected.input_grads[k], 1e-9, 1e-11);
  }
}
inline void check_against(const nn::Module& module, const std::vector<Tensor>& results,
                          const std::vector<Tensor>& inputs, const Expected& expected) {
  check_against(&module, results, inputs, expected);
}

/// Loads `module` from the bytes of a safetensors file (written to a temporary file first, as a
/// user's file would be read); returns the file's metadata.
template <typename Holder>
std::map<std::string, std::string> load_file_bytes(Holder& module, const unsigned char* bytes,
                                                   size_t size) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("bg_test_nn_" + std::to_string(::getpid()) + ".safetensors");
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes), static_cast<std::streamsize>(size));
  }
  auto metadata = bg::load(module, path);
  std::filesystem::remove(path);
  return metadata;
}

}  // namespace bg::test
