// The CUDA suite's main: says up front when there is no GPU, so a run of only skipped tests is not
// mistaken for a run that tested the backend.

#define DOCTEST_CONFIG_IMPLEMENT
#include <bg/core/cuda.h>
#include <doctest/doctest.h>

#include <cstdio>

int main(int argc, char** argv) {
  if (!bg::cuda::is_available()) {
    std::printf("test_cuda: no CUDA device is available: the GPU test cases are skipped\n");
  } else {
    std::printf("test_cuda: %d CUDA device(s)\n", bg::cuda::device_count());
  }
  doctest::Context context(argc, argv);
  return context.run();
}
