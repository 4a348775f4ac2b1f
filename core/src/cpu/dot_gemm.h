#pragma once
// A GEMM for a long inner dimension and a small output, with both operands contiguous along the
// inner dimension: C[M, N] = A[M, K] B[K, N] with A row-major and B column-major. This is the
// weight gradient of a convolution, grad [C_out, N L] @ columns^T [N L, C_in kh kw]: a few hundred
// outputs, each a dot product over every window of the batch.
//
// The packed GEMM would first transpose B into panels (a strided walk over all of it); here every
// output is a dot product of two contiguous vectors, computed in place. A register tile of kRows
// rows of A by kCols columns of B holds kRows * kCols vector partial sums and reads kRows + kCols
// vectors per step; each partial sum is reduced across its lanes at the end of a chunk of the
// inner dimension, a chunk small enough that the rows of A and B it covers stay in L2 while every
// tile passes over them. Tiles are the parallel tasks; every output is computed by one task, in
// the same order whatever the thread count (Note [Deterministic chunks]).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "cpu/parallel.h"

namespace bg::cpu::BG_CPU_ISA {

/// Whether dot_gemm suits a product: long inner dimension, few outputs.
inline bool dot_gemm_suits(int64_t M, int64_t N, int64_t K) {
  return K >= 512 && M + N <= 512 && M * N <= 16384;
}

namespace dot {
// 64 bytes of T: one AVX-512 register (GCC's vector extension; narrower ISAs split it).
template <typename T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(64)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(64)));
};
template <typename T>
using Vec = typename VecOf<T>::type;
// v = p[0, W). (Through a reference: returning a 64-byte vector by value changes the ABI between
// AVX-512 builds and others, which GCC warns about.)
template <typename T>
inline void load(Vec<T>& v, const T* p) {
  std::memcpy(&v, p, sizeof(v));
}
// Keeps v in a register: otherwise the compiler folds the load into each of the FMAs that use v,
// loading it kRows times (a 64-byte load costs as much as an FMA on some cores). Only with
// AVX-512, where the vector is one register.
template <typename T>
inline void in_register(Vec<T>& v) {
#if defined(__AVX512F__)
  asm("" : "+v"(v));
#else
  (void)v;
#endif
}
}  // namespace dot

/// C[M, N] (row stride ldc) = A[M, K] (row stride lda) x B[K, N] where B(k, n) = b[n * ldb + k].
template <typename T>
void dot_gemm(int64_t M, int64_t N, int64_t K, const T* a, int64_t lda, const T* b, int64_t ldb,
              T* c, int64_t ldc) {
  using Vec = dot::Vec<T>;
  constexpr int64_t W = sizeof(Vec) / sizeof(T);
  constexpr int64_t kRows = 4, kCols = 6;
  const int64_t row_tiles = (M + kRows - 1) / kRows, col_tiles = (N + kCols - 1) / kCols;
  // The vector partial sums of every output, kept across chunks and reduced at the end.
  std::vector<Vec> partial(static_cast<size_t>(row_tiles * kRows * col_tiles * kCols), Vec{});
  // Vectors of the inner dimension per chunk: the rows of A and B a chunk covers take about
  // 512 KiB, so they stay in L2 while every tile passes over them.
  const int64_t vectors = K / W;
  const int64_t chunk = std::clamp<int64_t>(524288 / ((M + N) * int64_t{sizeof(Vec)}), 4, 64);
  for (int64_t v0 = 0; v0 < vectors; v0 += chunk) {
    const int64_t v1 = std::min(vectors, v0 + chunk);
    // Tiles sharing columns of B run one after the other, so those columns are read once.
    parallel_for(row_tiles * col_tiles, 1, [&](int64_t begin, int64_t end) {
      for (int64_t tile = begin; tile < end; ++tile) {
        const int64_t m0 = tile % row_tiles * kRows, n0 = tile / row_tiles * kCols;
        // Edge tiles repeat their last row or column (those results are dropped).
        const T* rows[kRows];
        const T* cols[kCols];
        for (int64_t r = 0; r < kRows; ++r) rows[r] = a + std::min(m0 + r, M - 1) * lda;
        for (int64_t q = 0; q < kCols; ++q) cols[q] = b + std::min(n0 + q, N - 1) * ldb;
        Vec* sums = partial.data() + (m0 * col_tiles + n0 / kCols * kRows) * kCols;
        Vec acc[kRows][kCols];
        for (int64_t r = 0; r < kRows; ++r) {
          for (int64_t q = 0; q < kCols; ++q) acc[r][q] = sums[r * kCols + q];
        }
        for (int64_t v = v0; v < v1; ++v) {
          Vec x[kRows];
          for (int64_t r = 0; r < kRows; ++r) dot::load<T>(x[r], rows[r] + v * W);
          for (int64_t q = 0; q < kCols; ++q) {
            Vec y;
            dot::load<T>(y, cols[q] + v * W);
            dot::in_register<T>(y);
            for (int64_t r = 0; r < kRows; ++r) acc[r][q] += x[r] * y;
          }
        }
        for (int64_t r = 0; r < kRows; ++r) {
          for (int64_t q = 0; q < kCols; ++q) sums[r * kCols + q] = acc[r][q];
        }
      }
    });
  }
  // Each output: the lanes of its partial sum, then the inner dimension's last K % W terms.
  parallel_for(M * N, kElementwiseGrain / (2 * W), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t m = i / N, n = i % N;
      const Vec& p = partial[(m / kRows * col_tiles + n / kCols) * kRows * kCols +
                             m % kRows * kCols + n % kCols];
      T sum = 0;
      for (int64_t lane = 0; lane < W; ++lane) sum += p[lane];
      for (int64_t k = vectors * W; k < K; ++k) sum += a[m * lda + k] * b[n * ldb + k];
      c[m * ldc + n] = sum;
    }
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
