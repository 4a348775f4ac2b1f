#pragma once
// A register-blocked GEMM for small products (the layers of small MLPs: 64x20 @ 20x20).
//
// At these sizes Eigen's general GEMM spends most of its time packing panels and handling edges
// sized for large matrices. Here each output block of kRows rows x one SIMD width of columns is
// accumulated in registers over the whole inner dimension, reading B from a row-major copy padded
// to a multiple of the SIMD width (the copy is tiny at these sizes). float32 on AVX-512 runs the
// blocks in intrinsics (block_avx512), and a product with one output column as dot products along
// the rows (column_gemm_avx512). Results do not depend on the thread count: this path is
// single-threaded.

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "cpu/packed_gemm.h"  // packed::lanes_below

namespace bg::cpu::BG_CPU_ISA {

// Elements per SIMD register we block for (64 bytes: one AVX-512 register, two AVX ones).
template <typename T>
inline constexpr int64_t kSimdWidth = 64 / sizeof(T);

// n elements of `storage` (a buffer kept per thread: one per product of a batched bmm would be a
// malloc each) starting on a 64-byte boundary, so that no load of a register from them spans two
// cache lines (malloc aligns to 16 bytes: the vector holds one register more than asked).
template <typename T>
T* aligned_scratch(std::vector<T>& storage, int64_t n) {
  const auto size = static_cast<size_t>(n + kSimdWidth<T>);
  if (storage.size() < size) storage.resize(size);
  const auto address = reinterpret_cast<std::uintptr_t>(storage.data());
  return storage.data() + ((64 - address % 64) % 64) / sizeof(T);
}

// x < 0 ? 0 : x in every lane of v: the unary kernel's ReLU, bit for bit (NaN and -0 stay). On
// AVX-512 (float64 here: float32 takes block_avx512) one max(0, x), which returns its second
// operand x when either is NaN.
template <typename T, typename Vec>
void relu_lanes(Vec& v) {
#if defined(__AVX512F__)
  static_assert(std::is_same_v<T, double>);
  _mm512_storeu_pd(v.data(), _mm512_max_pd(_mm512_setzero_pd(), _mm512_loadu_pd(v.data())));
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
  static_assert(std::is_same_v<T, double>);
  const auto mask = static_cast<__mmask8>((1u << n) - 1);
  __m512d x = _mm512_loadu_pd(v.data());
  if (add != nullptr) x = _mm512_add_pd(x, _mm512_maskz_loadu_pd(mask, add));
  if (relu) x = _mm512_max_pd(_mm512_setzero_pd(), x);
  _mm512_mask_storeu_pd(out, mask, x);
#else
  for (int64_t l = 0; l < n; ++l) {
    const T x = add != nullptr ? v[l] + add[l] : v[l];
    out[l] = relu && x < T(0) ? T(0) : x;
  }
#endif
}

// small_gemm's block: C[R, cols] (row stride ldc) = A[R, K] (element strides a_row, a_col) x
// B[K, cols] (rows ldb apart, C registers long, zero past `cols`), plus the bias rows (bias_row
// apart, or none) and ReLU, accumulated in R x C fixed-size Eigen arrays of one SIMD register each.
template <typename T, int64_t R, int64_t C>
void block_eigen(int64_t K, const T* a, int64_t a_row, int64_t a_col, const T* b, int64_t ldb,
                 int64_t cols, T* c, int64_t ldc, const T* bias, int64_t bias_row, bool relu) {
  constexpr int64_t W = kSimdWidth<T>;
  using Vec = Eigen::Array<T, W, 1>;
  Vec acc[R][C];
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t v = 0; v < C; ++v) acc[r][v].setZero();
  }
  for (int64_t k = 0; k < K; ++k) {
    Vec b_k[C];
    for (int64_t v = 0; v < C; ++v) b_k[v] = Eigen::Map<const Vec>(b + k * ldb + v * W);
    for (int64_t r = 0; r < R; ++r) {
      const T a_rk = a[r * a_row + k * a_col];
      for (int64_t v = 0; v < C; ++v) acc[r][v] += a_rk * b_k[v];
    }
  }
  for (int64_t v = 0; v < C; ++v) {
    const int64_t j = v * W, width = std::min(W, cols - j);
    for (int64_t r = 0; r < R; ++r) {
      T* out = c + r * ldc + j;
      const T* add = bias != nullptr ? bias + r * bias_row + j : nullptr;
      if (width < W) {
        store_head(out, acc[r][v], width, add, relu);
        continue;
      }
      if (add != nullptr) acc[r][v] += Eigen::Map<const Vec>(add);
      if (relu) relu_lanes<T>(acc[r][v]);
      Eigen::Map<Vec>{out} = acc[r][v];
    }
  }
}

#if defined(__AVX512F__)
// small_gemm's block for float on AVX-512, in intrinsics: C[R, cols] (row stride ldc) = A[R, K] x
// B[K, cols] (rows of B ldb apart, each C registers long, zero past `cols`), plus the bias rows
// (bias_row apart) and ReLU. The same sums as block_eigen (one FMA per k, in order); GCC kept
// that one's accumulators in memory for its epilogue and spilled its two pointers per row
// to the stack: the seed MLP's first layer on 5000 points (K = 1, two FMAs a row) took 25 us, now
// 14.
template <int64_t R, int64_t C>
[[gnu::always_inline]] inline void block_avx512(int64_t K, const float* a, int64_t a_row,
                                                int64_t a_col, const float* b, int64_t ldb,
                                                int64_t cols, float* c, int64_t ldc,
                                                const float* bias, int64_t bias_row, bool relu) {
  __m512 acc[R][C];
  for (int64_t r = 0; r < R; ++r) {
    for (int64_t v = 0; v < C; ++v) acc[r][v] = _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < K; ++k, a += a_col, b += ldb) {
    __m512 b_k[C];
    for (int64_t v = 0; v < C; ++v) b_k[v] = _mm512_loadu_ps(b + 16 * v);
    for (int64_t r = 0; r < R; ++r) {
      const __m512 a_rk = _mm512_set1_ps(a[r * a_row]);
      for (int64_t v = 0; v < C; ++v) acc[r][v] = _mm512_fmadd_ps(a_rk, b_k[v], acc[r][v]);
    }
  }
  __mmask16 masks[C];
  for (int64_t v = 0; v < C; ++v) masks[v] = packed::lanes_below(cols - 16 * v);
    // Unrolled, so that the accumulators stay in registers (GCC's own unrolling stops short of this
    // loop's size).
#pragma GCC unroll 8
  for (int64_t r = 0; r < R; ++r, c += ldc, bias += bias != nullptr ? bias_row : 0) {
#pragma GCC unroll 2
    for (int64_t v = 0; v < C; ++v) {
      __m512 x = acc[r][v];
      if (bias != nullptr) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(masks[v], bias + 16 * v));
      if (relu) x = _mm512_max_ps(_mm512_setzero_ps(), x);
      _mm512_mask_storeu_ps(c + 16 * v, masks[v], x);
    }
  }
}

// Lane i of the result: the sum of v[i]'s 16 lanes. In-register transposes pair the vectors up
// (30 shuffles and 15 additions for 16 sums, where reducing each vector alone takes 4 of each).
inline __m512 sum_lanes_of_16(const __m512 (&v)[16]) {
  // Pairs of vectors: in each 128-bit block, [x0 + x2, y0 + y2, x1 + x3, y1 + y3] of x = v[2j],
  // y = v[2j + 1].
  __m512 pairs[8];
  for (int j = 0; j < 8; ++j) {
    pairs[j] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * j], v[2 * j + 1]),
                             _mm512_unpackhi_ps(v[2 * j], v[2 * j + 1]));
  }
  // Quads: in each 128-bit block q, the block sums of v[4j], ..., v[4j + 3].
  __m512 quads[4];
  for (int j = 0; j < 4; ++j) {
    quads[j] =
        _mm512_add_ps(_mm512_shuffle_ps(pairs[2 * j], pairs[2 * j + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                      _mm512_shuffle_ps(pairs[2 * j], pairs[2 * j + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // Blocks added in pairs: [quads[2j] of blocks 0 + 1, of 2 + 3, quads[2j + 1] of 0 + 1, of 2 + 3].
  __m512 halves[2];
  for (int j = 0; j < 2; ++j) {
    halves[j] = _mm512_add_ps(
        _mm512_shuffle_f32x4(quads[2 * j], quads[2 * j + 1], _MM_SHUFFLE(2, 0, 2, 0)),
        _mm512_shuffle_f32x4(quads[2 * j], quads[2 * j + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  }
  // Block j: the full sums of v[4j], ..., v[4j + 3].
  return _mm512_add_ps(_mm512_shuffle_f32x4(halves[0], halves[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(halves[0], halves[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

// small_gemm for float on AVX-512 with one output column (a last Linear(n, 1)) and A's rows
// contiguous: c[i] = A[i, :] . b (b's elements b_row apart), plus bias[i * bias_row], then ReLU.
// The register blocks would use one lane of 16 per FMA (K FMAs a row); here each row is a dot
// product along its contiguous K (K / 16 FMAs) and the sums of 16 rows come out of one tree of
// shuffles (the seed MLP's last layer on 5000 points: 32 us, now 9). Lane l of a row's partial
// vector sums its k = l (mod 16) in order; the same for every row, on any number of threads.
inline void column_gemm_avx512(int64_t M, int64_t K, const float* a, int64_t a_row, const float* b,
                               int64_t b_row, float* c, const float* bias, int64_t bias_row,
                               bool relu) {
  if (b_row != 1) {
    thread_local std::vector<float> column;
    column.resize(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) column[static_cast<size_t>(k)] = b[k * b_row];
    b = column.data();
  }
  for (int64_t i0 = 0; i0 < M; i0 += 16) {
    const int64_t rows = std::min<int64_t>(16, M - i0);
    __m512 partial[16];
    for (__m512& p : partial) p = _mm512_setzero_ps();
    for (int64_t k = 0; k < K; k += 16) {
      const __mmask16 mask = packed::lanes_below(K - k);
      const __m512 b_k = _mm512_maskz_loadu_ps(mask, b + k);
      // Unrolled, so that the partial sums stay in registers. Rows past M repeat the last one:
      // computed, never stored.
#pragma GCC unroll 16
      for (int64_t r = 0; r < 16; ++r) {
        const float* row = a + (i0 + std::min(r, rows - 1)) * a_row + k;
        partial[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, row), b_k, partial[r]);
      }
    }
    __m512 sums = sum_lanes_of_16(partial);
    if (bias != nullptr && bias_row == 0) {
      sums = _mm512_add_ps(sums, _mm512_set1_ps(*bias));
    } else if (bias != nullptr) {
      alignas(64) float add[16] = {};
      for (int64_t r = 0; r < rows; ++r) add[r] = bias[(i0 + r) * bias_row];
      sums = _mm512_add_ps(sums, _mm512_load_ps(add));
    }
    if (relu) sums = _mm512_max_ps(_mm512_setzero_ps(), sums);
    _mm512_mask_storeu_ps(c + i0, packed::lanes_below(rows), sums);
  }
}

// small_gemm for float on AVX-512 when C's rows are 16 < N < 32 floats, N a multiple of 4, stored
// one after the other (ldc == N): the 20-wide layers of the seed MLP. Row by row (block_avx512),
// each row's outputs take two registers, the second partly used and stored with a mask across a
// cache-line boundary; here rows go 4 at a time, whose 4N outputs are N / 4 whole registers,
// stored whole (and aligned when C is), with N / 4 FMAs per k for the 4 rows where two registers
// a row take 8 (for N = 20, 12 lanes of every 32 on padding). Each output still gets one FMA per
// k, in order: the bits of block_avx512. B's rows and the bias (one row broadcast over all, or
// none) are laid out 4 times over to match. Returns how many rows it computed (a multiple of 4);
// the caller computes the rest. Used from kGroupedMinRows rows on: below, the output stays in L1,
// where partial stores cost little, and laying out B 4 times over would cost more than it saves.
constexpr int64_t kGroupedMinRows = 256;
template <int64_t N>
int64_t grouped_rows_gemm_avx512(int64_t M, int64_t K, const float* a, int64_t a_row, int64_t a_col,
                                 const float* b, int64_t ldb, float* c, const float* bias,
                                 bool relu) {
  constexpr int64_t kRegs = N / 4;  // registers per group of 4 rows
  thread_local std::vector<float> storage;
  float* pattern = aligned_scratch(storage, K * 4 * N);
  alignas(64) float bias_pattern[4 * N] = {};
  // Each row of N floats copied 4 times, as a register and a masked one each.
  const __mmask16 tail = packed::lanes_below(N - 16);
  const auto repeat = [tail](const float* row, float* out) {
    const __m512 head = _mm512_loadu_ps(row), rest = _mm512_maskz_loadu_ps(tail, row + 16);
    for (int64_t r = 0; r < 4; ++r) {
      _mm512_storeu_ps(out + r * N, head);
      _mm512_mask_storeu_ps(out + r * N + 16, tail, rest);
    }
  };
  for (int64_t k = 0; k < K; ++k) repeat(b + k * ldb, pattern + k * 4 * N);
  if (bias != nullptr) repeat(bias, bias_pattern);
  // G groups of 4 rows from row i0. Register v of a group starts in row 16 v / N; its lanes from
  // `split` on belong to the next row, so the A it multiplies is the two rows' broadcasts blended
  // at `split`: one FMA per register and k, as many as the outputs need (two FMAs into two
  // accumulators, blended when stored, took 8 FMAs per k for 5 registers of 4 rows of 20).
  const auto groups = [&]<int64_t G>(int64_t i0) {
    __m512 acc[G][kRegs];
    for (auto& group : acc) {
      for (__m512& v : group) v = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < K; ++k) {
      __m512 b_k[kRegs];
      for (int64_t v = 0; v < kRegs; ++v) b_k[v] = _mm512_load_ps(pattern + k * 4 * N + 16 * v);
      for (int64_t g = 0; g < G; ++g) {
        __m512 a_k[4];
        for (int64_t r = 0; r < 4; ++r) {
          a_k[r] = _mm512_set1_ps(a[(i0 + 4 * g + r) * a_row + k * a_col]);
        }
#pragma GCC unroll 8
        for (int64_t v = 0; v < kRegs; ++v) {
          const int64_t row = 16 * v / N, split = N * (row + 1) - 16 * v;
          const __m512 a_v =
              split < 16 ? _mm512_mask_blend_ps(packed::lanes_below(split), a_k[row + 1], a_k[row])
                         : a_k[row];
          acc[g][v] = _mm512_fmadd_ps(a_v, b_k[v], acc[g][v]);
        }
      }
    }
    for (int64_t g = 0; g < G; ++g) {
#pragma GCC unroll 8
      for (int64_t v = 0; v < kRegs; ++v) {
        __m512 x = acc[g][v];
        if (bias != nullptr) x = _mm512_add_ps(x, _mm512_load_ps(bias_pattern + 16 * v));
        if (relu) x = _mm512_max_ps(_mm512_setzero_ps(), x);
        _mm512_storeu_ps(c + (i0 + 4 * g) * N + 16 * v, x);
      }
    }
  };
  int64_t i0 = 0;
  for (; i0 + 8 <= M; i0 += 8) groups.template operator()<2>(i0);
  if (i0 + 4 <= M) {
    groups.template operator()<1>(i0);
    i0 += 4;
  }
  return i0;
}
#endif

// Whether small_gemm computes C[M, N] as dot products along the rows (column_gemm_avx512: float32
// on AVX-512, one output column, A's rows contiguous), which reads B's column where it is: a
// caller making small_gemm_rows' copy of B for several products skips it then.
template <typename T>
constexpr bool small_gemm_by_dots(int64_t N, int64_t a_col, int64_t ldc) {
#if defined(__AVX512F__)
  return std::is_same_v<T, float> && N == 1 && a_col == 1 && ldc == 1;
#else
  (void)N, (void)a_col, (void)ldc;
  return false;
#endif
}

// B[K, N] (element strides b_row, b_col) as small_gemm reads it: rows of whole registers, as a
// pointer and a row stride. B itself when it is row-major with whole registers (an attention
// head's [64, 64] scores times its [64, 32] values), else a zero-padded row-major copy in
// `storage`, rows on 64-byte boundaries. (Reading a B with partial registers in place, by masked
// loads, made the seed MLP's step 3% slower than this copy.) small_gemm makes the copy itself; a
// caller running several products with one B (the row chunks of a tall product) makes it once
// and passes it with b_padded.
template <typename T>
std::pair<const T*, int64_t> small_gemm_rows(int64_t K, int64_t N, const T* b, int64_t b_row,
                                             int64_t b_col, std::vector<T>& storage) {
  constexpr int64_t W = kSimdWidth<T>;
  const int64_t padded = (N + W - 1) / W * W;
  if (b_col == 1 && N % W == 0) return {b, b_row};
  // Each element written once (the copy is a fair share of a [64, 20] x [20, 20] product): the
  // padding zeroed row by row, B read along its contiguous dim (down the columns of a transposed
  // weight).
  T* out = aligned_scratch(storage, K * padded);
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
  return {out, padded};
}

// C[M, N] (row stride ldc) = A[M, K] (element strides a_row, a_col) x B[K, N] (b_row, b_col), plus
// a bias when `bias` is not null: row i of C gets the N values at bias + i * bias_row added to its
// finished sums, then ReLU when `relu` (the epilogue of addmm and linear: no second pass over C).
// b_padded: B is small_gemm_rows' copy (b_col 1, rows of whole registers b_row apart).
template <typename T>
void small_gemm(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_row, int64_t a_col,
                const T* b, int64_t b_row, int64_t b_col, bool b_padded, T* c, int64_t ldc,
                const T* bias, int64_t bias_row, bool relu) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (small_gemm_by_dots<T>(N, a_col, ldc)) {
      column_gemm_avx512(M, K, a, a_row, b, b_row, c, bias, bias_row, relu);
      return;
    }
  }
#endif
  constexpr int64_t W = kSimdWidth<T>;
  constexpr int64_t kRows = 8;  // 8 independent FMA chains hide the FMA latency
  const int64_t padded = (N + W - 1) / W * W;
  // B as rows of whole registers, unless the caller made them.
  const T* rows = b;
  int64_t ldb = b_row;
  if (!b_padded) {
    thread_local std::vector<T> copy;
    std::tie(rows, ldb) = small_gemm_rows(K, N, b, b_row, b_col, copy);
  }

  // Rows before first_row are done (by the grouped kernel); the blocks below compute the others.
  int64_t first_row = 0;
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (M >= kGroupedMinRows && ldc == N && (bias == nullptr || bias_row == 0)) {
      const auto grouped = [&]<int64_t kN>() {
        return grouped_rows_gemm_avx512<kN>(M, K, a, a_row, a_col, rows, ldb, c, bias, relu);
      };
      if (N == 20) first_row = grouped.template operator()<20>();
      if (N == 24) first_row = grouped.template operator()<24>();
      if (N == 28) first_row = grouped.template operator()<28>();
    }
  }
#endif

  // One block: rows [i0, i0 + R) x columns [j0, j0 + C W), accumulated in R x C registers over
  // the whole inner dimension. Two registers per row halve the broadcasts of A per FMA.
  auto block = [&]<int64_t R, int64_t C>(int64_t i0, int64_t j0) {
    const T* block_bias = bias != nullptr ? bias + i0 * bias_row + j0 : nullptr;
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
      block_avx512<R, C>(K, a + i0 * a_row, a_row, a_col, rows + j0, ldb, N - j0, c + i0 * ldc + j0,
                         ldc, block_bias, bias_row, relu);
    } else {
#endif
      block_eigen<T, R, C>(K, a + i0 * a_row, a_row, a_col, rows + j0, ldb, N - j0,
                           c + i0 * ldc + j0, ldc, block_bias, bias_row, relu);
#if defined(__AVX512F__)
    }
#endif
  };
  // Blocks of kRows rows, then the 0 to 7 rows left over as blocks of 4, 2 and 1: one row at a
  // time would be a single FMA chain per register, waiting on the FMA latency at every step (a
  // weight gradient [20, 64] x [64, 20] has 4 rows left over). Each element is summed the same way
  // whatever its block.
  const auto column_blocks = [&]<int64_t C>(int64_t j0) {
    int64_t i0 = first_row;
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
