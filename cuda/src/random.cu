// Random fills from Philox blocks, laid out as on the CPU (random.h, cpu/random.cpp), so a seed
// gives the same numbers on either device. Each thread computes one Philox block and writes the
// values drawn from it:
//   float32 uniform: 4 values (one word each)      float64 uniform, randint: 2 (two words each)
//   float32 normal:  2 Box-Muller pairs = 4 values  float64 normal: 1 pair = 2 values
// Uniform and integer draws have the CPU's bits (this file is built without contracting a + (b -
// a) * u into a fused multiply-add, as the CPU's Eigen expression is not). Normal draws go through
// log, sqrt, sin and cos, whose last bits differ between CUDA's libm and Eigen's vectorized forms:
// they agree to a few ulps.

#include <type_traits>

#include "bg/core/random.h"
#include "cuda_backend.h"
#include "elementwise.cuh"

namespace bg::cuda {

namespace {

constexpr double kTwoPi = 6.283185307179586;

// Uniform [0, 1) from one word (float32, 24 bits) or two (float64, 53 bits), as on the CPU.
__device__ float unit_float(uint32_t w) { return static_cast<float>(w >> 8) * 0x1.0p-24f; }
__device__ double unit_double(uint32_t high, uint32_t low) {
  return static_cast<double>(((uint64_t{high} << 32) | low) >> 11) * 0x1.0p-53;
}

template <typename T>
__global__ void random_kernel(T* out, int64_t n, RandomOp op, uint64_t seed, uint64_t offset,
                              double a, double b) {
  constexpr bool kFloat = std::is_same_v<T, float>;
  const int64_t per_block = op == RandomOp::Randint || !kFloat ? 2 : 4;
  const int64_t blocks = (n + per_block - 1) / per_block;
  for (int64_t k = blockIdx.x * int64_t{kThreads} + threadIdx.x; k < blocks;
       k += int64_t{gridDim.x} * kThreads) {
    const auto w = philox4x32(offset + static_cast<uint64_t>(k), seed);
    T values[4];
    if (op == RandomOp::Randint) {
      // Lemire's multiply-shift maps 64 random bits onto [a, b).
      const auto low = static_cast<int64_t>(a);
      const auto range = static_cast<uint64_t>(static_cast<int64_t>(b) - low);
      for (int j = 0; j < 2; ++j) {
        const uint64_t bits = (uint64_t{w[2 * j]} << 32) | w[2 * j + 1];
        values[j] = static_cast<T>(low + static_cast<int64_t>(__umul64hi(bits, range)));
      }
    } else if constexpr (std::is_floating_point_v<T>) {
      // Box-Muller pair j from words (u1, u2): (r cos(2 pi u2), r sin(2 pi u2)), r = sqrt(-2 log
      // (1 - u1)); 1 - u1 is in (0, 1], so the log is finite.
      const T lo = static_cast<T>(a), scale = static_cast<T>(op == RandomOp::Uniform ? b - a : b);
      if constexpr (kFloat) {
        for (int j = 0; j < 4; ++j) values[j] = unit_float(w[j]);
      } else {
        values[0] = unit_double(w[0], w[1]);
        values[1] = unit_double(w[2], w[3]);
      }
      if (op == RandomOp::Uniform) {
        for (int j = 0; j < per_block; ++j) values[j] = lo + scale * values[j];
      } else if (op == RandomOp::Bernoulli) {
        for (int j = 0; j < per_block; ++j) values[j] = values[j] < lo ? static_cast<T>(b) : T(0);
      } else {
        for (int j = 0; j < per_block; j += 2) {
          const T r = sqrt(T(-2) * log(T(1) - values[j]));
          const T angle = T(kTwoPi) * values[j + 1];
          values[j] = lo + scale * r * cos(angle);
          values[j + 1] = lo + scale * r * sin(angle);
        }
      }
    }
    const int64_t first = k * per_block;
    for (int j = 0; j < per_block && first + j < n; ++j) out[first + j] = values[j];
  }
}

}  // namespace

void CudaBackend::random(RandomOp op, const Tensor& out, uint64_t seed, uint64_t offset, double a,
                         double b) {
  use_device(out.device(), "random");
  const bool integers = op == RandomOp::Randint;
  BG_CHECK(integers ? out.dtype() == kInt64 : out.is_floating_point(), "random", "cannot fill a ",
           dtype_name(out.dtype()), " tensor with ",
           integers ? "integers" : "floating-point draws");
  const int64_t n = out.numel();
  if (n == 0) return;
  const int64_t blocks =
      (n + values_per_block(op, out.dtype()) - 1) / values_per_block(op, out.dtype());
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      random_kernel<T><<<blocks_for(blocks), kThreads, 0, current_stream()>>>(
          static_cast<T*>(out.impl()->data()), n, op, seed, offset, a, b);
    }
  });
  check_launch("random");
}

}  // namespace bg::cuda
