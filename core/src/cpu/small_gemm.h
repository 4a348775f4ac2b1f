#pragma once
// A register-blocked GEMM for small products (the layers of small MLPs: 64x20 @ 20x20).
//
// At these sizes Eigen's general GEMM spends most of its time packing panels and handling edges
// sized for large matrices. Here each output block of kRows rows x one SIMD width of columns is
// accumulated in registers over the whole inner dimension, reading B from a row-major copy padded
// to a multiple of the SIMD width (the copy is tiny at these sizes). Results do not depend on the
// thread count: this path is single-threaded.

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace bg::cpu::BG_CPU_ISA {

// Elements per SIMD register we block for (64 bytes: one AVX-512 register, two AVX ones).
template <typename T>
inline constexpr int64_t kSimdWidth = 64 / sizeof(T);

// x < 0 ? 0 : x in every lane of v: the unary kernel's ReLU, bit for bit (NaN and -0 stay). On
// AVX-512 one max(0, x), which returns its second operand x when either is NaN.
template <typename T, typename Vec>
void relu_lanes(Vec& v) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    _mm512_storeu_ps(v.data(), _mm512_max_ps(_mm512_setzero_ps(), _mm512_loadu_ps(v.data())));
  } else {
    _mm512_storeu_pd(v.data(), _mm512_max_pd(_mm512_setzero_pd(), _mm512_loadu_pd(v.data())));
  }
#else
  for (int64_t l = 0; l < v.size(); ++l) v[l] = v[l] < T(0) ? T(0) : v[l];
#endif
}

// out[0, n) = the first n < kSimdWidth<T> values of v, plus add[0, n) when add is not null, then
// ReLU when `relu`. A masked store where the instruction set has one: Eigen's head(n) of a
// register is a copy through memory (rep movs) that cost more than the products of a 20-column
// output.
template <typename T, typename Vec>
void store_head(T* out, const Vec& v, int64_t n, const T* add, bool relu) {
#if defined(__AVX512F__)
  const auto mask = static_cast<uint16_t>((1u << n) - 1);
  if constexpr (std::is_same_v<T, float>) {
    __m512 x = _mm512_loadu_ps(v.data());
    if (add != nullptr) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, add));
    if (relu) x = _mm512_max_ps(_mm512_setzero_ps(), x);
    _mm512_mask_storeu_ps(out, mask, x);
  } else {
    __m512d x = _mm512_loadu_pd(v.data());
    if (add != nullptr)
      x = _mm512_add_pd(x, _mm512_maskz_loadu_pd(static_cast<__mmask8>(mask), add));
    if (relu) x = _mm512_max_pd(_mm512_setzero_pd(), x);
    _mm512_mask_storeu_pd(out, static_cast<__mmask8>(mask), x);
  }
#else
  for (int64_t l = 0; l < n; ++l) {
    const T x = add != nullptr ? v[l] + add[l] : v[l];
    out[l] = relu && x < T(0) ? T(0) : x;
  }
#endif
}

// C[M, N] (row stride ldc) = A[M, K] (element strides a_row, a_col) x B[K, N] (b_row, b_col), plus
// a bias when `bias` is not null: row i of C gets the N values at bias + i * bias_row added to its
// finished sums, then ReLU when `relu` (the epilogue of addmm and linear: no second pass over C).
template <typename T>
void small_gemm(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_row, int64_t a_col,
                const T* b, int64_t b_row, int64_t b_col, T* c, int64_t ldc, const T* bias,
                int64_t bias_row, bool relu) {
  constexpr int64_t W = kSimdWidth<T>;
  constexpr int64_t kRows = 8;  // 8 independent FMA chains hide the FMA latency
  const int64_t padded = (N + W - 1) / W * W;
  // B as rows of whole registers: B itself when it is row-major with whole registers (an
  // attention head's [64, 64] scores times its [64, 32] values), else a zero-padded row-major copy
  // kept per thread (one per product of a batched bmm would be a malloc each). (Reading a B with
  // partial registers in place, by masked loads, made the seed MLP's step 3% slower than this
  // copy.)
  const T* rows = b;
  int64_t ldb = b_row;
  if (b_col != 1 || N % W != 0) {
    // Each element written once (the copy is a fair share of a [64, 20] x [20, 20] product): the
    // padding zeroed row by row, B read along its contiguous dim (down the columns of a
    // transposed weight). Rows start on 64-byte boundaries, so that no load of a register spans
    // two cache lines (malloc aligns to 16 bytes: the vector holds W more elements and the copy
    // starts at the first boundary in it).
    thread_local std::vector<T> copy;
    if (copy.size() < static_cast<size_t>(K * padded + W)) {
      copy.resize(static_cast<size_t>(K * padded + W));
    }
    const auto address = reinterpret_cast<std::uintptr_t>(copy.data());
    T* out = copy.data() + ((64 - address % 64) % 64) / sizeof(T);
    for (int64_t k = 0; k < K; ++k) std::fill(out + k * padded + N, out + (k + 1) * padded, T(0));
    if (b_row == 1) {
      for (int64_t j = 0; j < N; ++j) {
        for (int64_t k = 0; k < K; ++k) out[k * padded + j] = b[k + j * b_col];
      }
    } else {
      for (int64_t k = 0; k < K; ++k) {
        for (int64_t j = 0; j < N; ++j) out[k * padded + j] = b[k * b_row + j * b_col];
      }
    }
    rows = out;
    ldb = padded;
  }

  // One block: rows [i0, i0 + R) x columns [j0, j0 + C W), accumulated in R x C fixed-size Eigen
  // arrays (one SIMD register each). Two registers per row halve the broadcasts of A per FMA.
  using Vec = Eigen::Array<T, W, 1>;
  auto block = [&]<int64_t R, int64_t C>(int64_t i0, int64_t j0) {
    Vec acc[R][C];
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t v = 0; v < C; ++v) acc[r][v].setZero();
    }
    for (int64_t k = 0; k < K; ++k) {
      Vec b_k[C];
      for (int64_t v = 0; v < C; ++v) b_k[v] = Eigen::Map<const Vec>(rows + k * ldb + j0 + v * W);
      for (int64_t r = 0; r < R; ++r) {
        const T a_rk = a[(i0 + r) * a_row + k * a_col];
        for (int64_t v = 0; v < C; ++v) acc[r][v] += a_rk * b_k[v];
      }
    }
    for (int64_t v = 0; v < C; ++v) {
      const int64_t j = j0 + v * W, width = std::min(W, N - j);
      for (int64_t r = 0; r < R; ++r) {
        T* out = c + (i0 + r) * ldc + j;
        const T* add = bias != nullptr ? bias + (i0 + r) * bias_row + j : nullptr;
        if (width < W) {
          store_head(out, acc[r][v], width, add, relu);
          continue;
        }
        if (add != nullptr) acc[r][v] += Eigen::Map<const Vec>(add);
        if (relu) relu_lanes<T>(acc[r][v]);
        Eigen::Map<Vec>{out} = acc[r][v];
      }
    }
  };
  // Blocks of kRows rows, then the 0 to 7 rows left over as blocks of 4, 2 and 1: one row at a
  // time would be a single FMA chain per register, waiting on the FMA latency at every step (a
  // weight gradient [20, 64] x [64, 20] has 4 rows left over). Each element is summed the same way
  // whatever its block.
  const auto column_blocks = [&]<int64_t C>(int64_t j0) {
    int64_t i0 = 0;
    for (; i0 + kRows <= M; i0 += kRows) block.template operator()<kRows, C>(i0, j0);
    if (i0 + 4 <= M) {
      block.template operator()<4, C>(i0, j0);
      i0 += 4;
    }
    if (i0 + 2 <= M) {
      block.template operator()<2, C>(i0, j0);
      i0 += 2;
    }
    if (i0 < M) block.template operator()<1, C>(i0, j0);
  };
  int64_t j0 = 0;
  for (; j0 + 2 * W <= padded; j0 += 2 * W) column_blocks.template operator()<2>(j0);
  if (j0 < padded) column_blocks.template operator()<1>(j0);
}

}  // namespace bg::cpu::BG_CPU_ISA
