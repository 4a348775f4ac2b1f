#pragma once
// A register-blocked GEMM for small products (the layers of small MLPs: 64x20 @ 20x20).
//
// At these sizes Eigen's general GEMM spends most of its time packing panels and handling edges
// sized for large matrices. Here each output block of kRows rows x one SIMD width of columns is
// accumulated in registers over the whole inner dimension, reading B from a row-major copy padded
// to a multiple of the SIMD width (the copy is tiny at these sizes). Results do not depend on the
// thread count: this path is single-threaded.

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <vector>

namespace bg::cpu {

// Elements per SIMD register we block for (64 bytes: one AVX-512 register, two AVX ones).
template <typename T>
inline constexpr int64_t kSimdWidth = 64 / sizeof(T);

// C[M, N] (row stride ldc) = A[M, K] (element strides a_row, a_col) x B[K, N] (b_row, b_col).
template <typename T>
void small_gemm(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_row, int64_t a_col,
                const T* b, int64_t b_row, int64_t b_col, T* c, int64_t ldc) {
  constexpr int64_t W = kSimdWidth<T>;
  constexpr int64_t kRows = 8;  // 8 independent FMA chains hide the FMA latency
  const int64_t padded = (N + W - 1) / W * W;
  std::vector<T> b_copy(static_cast<size_t>(K * padded), T(0));
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t j = 0; j < N; ++j) b_copy[k * padded + j] = b[k * b_row + j * b_col];
  }

  // One block: rows [i0, i0 + R) x columns [j0, j0 + W), accumulated in R fixed-size Eigen
  // arrays (one or two SIMD registers each).
  using Vec = Eigen::Array<T, W, 1>;
  auto block = [&]<int64_t R>(int64_t i0, int64_t j0) {
    Vec acc[R];
    for (int64_t r = 0; r < R; ++r) acc[r].setZero();
    for (int64_t k = 0; k < K; ++k) {
      const Eigen::Map<const Vec> b_k(b_copy.data() + k * padded + j0);
      for (int64_t r = 0; r < R; ++r) acc[r] += a[(i0 + r) * a_row + k * a_col] * b_k;
    }
    const int64_t width = std::min(W, N - j0);
    for (int64_t r = 0; r < R; ++r) {
      Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>(c + (i0 + r) * ldc + j0, width) =
          acc[r].head(width);
    }
  };

  for (int64_t j0 = 0; j0 < N; j0 += W) {
    int64_t i0 = 0;
    for (; i0 + kRows <= M; i0 += kRows) block.template operator()<kRows>(i0, j0);
    for (; i0 < M; ++i0) block.template operator()<1>(i0, j0);
  }
}

}  // namespace bg::cpu
