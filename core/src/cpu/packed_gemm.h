#pragma once
// A packed float32 GEMM for AVX-512, in the style of BLIS (Van Zee & van de Geijn, 2015).
//
// Why not Eigen here: Eigen 3.4's AVX-512 kernel keeps 12 accumulators (3 x 4 registers), too few
// to keep both FMA units of a modern core busy; it reaches about 60% of the FMA peak at 1024^3.
// This kernel keeps 24 (kRows x kCols = 8 rows x 3 registers of 16 floats).
//
// The inner dimension is walked in slices of kDepth. For each slice:
//   - A and B are copied ("packed") into buffers laid out in the order the micro-kernel reads
//     them: A in panels of kRows rows, B in panels of kCols columns, zero-padded at the edges.
//     B is packed once per slice, shared by all threads, unless it is read in place: row-major
//     with few rows of A (Note [B in place]), as A is with few columns of B (kInPlaceColPanels).
//   - C is split into blocks of kBlockRows x kBlockCols, the parallel tasks; each element of C
//     belongs to one block and is computed the same way on any number of threads
//     (Note [Deterministic chunks]).
//   - Each thread packs the block row of A its task needs just before using it, into a buffer of
//     its own, and keeps it for its next blocks in the same row (Note [Packing A per thread]).
//   - The micro-kernel multiplies one A panel by one B panel over the slice, accumulating a
//     kRows x kCols tile of C in registers, then adds it to C (or stores it, for the first slice).
// Packing also absorbs the operands' layouts: transposed or strided A and B cost nothing extra.
// A product whose transpose is cheaper to compute (a Linear layer's forward) is computed so and its
// tiles stored transposed (Note [Transposed C]).
// Without AVX-512 this file is empty and Eigen does the work.

#if defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <vector>

#include "cpu/parallel.h"

namespace bg::cpu::BG_CPU_ISA::packed {

constexpr int64_t kRows = 8;               // rows of a micro-tile
constexpr int64_t kCols = 48;              // columns of a micro-tile: 3 registers of 16 floats
constexpr int64_t kDepth = 1024;           // inner-dimension slice (see Note [Deep slices])
constexpr int64_t kBlockRows = 128;        // rows of a parallel task (a multiple of kRows)
constexpr int64_t kBlockCols = 96;         // columns of a parallel task (a multiple of kCols)
constexpr int64_t kOuter = 4096;           // rows and columns packed at once (bounds the buffers)
constexpr int64_t kOuterDepth = 1024;      // inner dimension packed at once
constexpr int64_t kInPlaceColPanels = 3;   // A is read in place for products this narrow
constexpr int64_t kPrefetchAhead = 16;     // rows of the B panel prefetched ahead of the FMAs
constexpr int64_t kInPlaceRowPanels = 32;  // B may be read in place for products this short
constexpr int64_t kConflictStride = 512;   // ... unless its rows are a multiple of this apart

// Note [Deep slices]
// ~~~~~~~~~~~~~~~~~~
// BLIS sizes the slice so that one B panel (kDepth x kCols) stays in L1 while the A panels stream
// past it. Here a deep slice does better: at 1024^3 on Sapphire Rapids (L1d 48 KiB, L2 2 MiB),
// kDepth 1024 with a software prefetch of B gives about 5% more than kDepth 256 (48 KiB of B, all
// of L1), whereas kDepth 128 (B in half of L1) gives nothing, nor does the prefetch alone. What a
// deep slice saves is the per-tile work: each slice ends with C's tile loaded, added to and stored,
// and with a call of the micro-kernel to set up. The B panel (192 KiB) then lives in L2, read at
// three 64-byte lines per 24 FMAs, and the prefetch kPrefetchAhead rows ahead (some 200 cycles)
// hides L2's latency; the block of A a task uses (kBlockRows x kDepth, 512 KiB) and its B panels
// (384 KiB) fit L2 together.

// Note [Packing A per thread]
// ~~~~~~~~~~~~~~~~~~~~~~~~~~~
// Packing the whole of A before any multiply (as B is) writes up to kOuter x kOuterDepth floats,
// 16 MiB, far more than L2: the packed panels go out to L3 and come back when a task reads them.
// Instead each thread packs one block row of A (kBlockRows x depth, 512 KiB) when its task needs
// it, so that the micro-kernel reads the panels from L2 right after they were written, in the
// order of BLIS and OpenBLAS. The tasks of a block row are consecutive, and a thread runs a range
// of consecutive tasks, so a thread packs each block row about once (a block row split between
// two threads is packed by both). At 1024^3 this is about 1% faster on 1 thread and on 2 (Sapphire
// Rapids). The packed values, hence the sums, do not depend on which thread packed them.

// Note [B in place]
// ~~~~~~~~~~~~~~~~~
// Packing B is a full pass over it, read and written, and pays off only when each B panel then
// meets many A panels. With one or two row panels it never does. Up to kInPlaceRowPanels (256
// rows: an MLP's input gradient g W with a batch of 128, say) a row-major B read in place is
// faster too: a task walks one B panel down for each of its A panels, the first walk brings the
// panel's rows into L2 (the micro-kernel's prefetch covers the latency, one row per k whatever
// the stride) and the others read them there. [128, 1200] x [1200, 1200] and
// [128, 784] x [784, 1200] are about 20% faster on 1 thread and 25% on 2. In runs alternating the
// two ways in one process, [256, 1200] x [1200, 784] was 2% faster on 1 thread and 13% on 2, and
// from 512 rows on, where each panel is walked again per block row, packing was faster (3% at
// 512, 5% at 1024 rows). Except when B's rows are a multiple of kConflictStride floats (2 KiB)
// apart, as with 512, 1024, 1536 or 2048 columns: in place is then 2 to 3 times slower, we take
// it because the rows of a panel fall into few cache sets and evict each other; 768, 1152, 1200
// and 1280 columns are fine. (Sapphire Rapids: L2 2 MiB, 16-way.)

/// A matrix operand: element (i, j) is data[i * row_stride + j * col_stride].
struct Operand {
  const float* data;
  int64_t row_stride, col_stride;
  float at(int64_t i, int64_t j) const { return data[i * row_stride + j * col_stride]; }
  /// The same matrix's transpose (no copy).
  Operand transposed() const { return {data, col_stride, row_stride}; }
};

// The first n of 16 lanes.
inline __mmask16 lanes_below(int64_t n) {
  return static_cast<__mmask16>((1u << std::clamp<int64_t>(n, 0, 16)) - 1);
}

// out[c * out_stride + r] = rows[r][k + c] for r, c < 8: an 8 x 8 block of 8 rows, transposed.
inline void transpose_8x8(const float* const* rows, int64_t k, float* out, int64_t out_stride) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows[i] + k);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);      // a0 b0 a1 b1 | a4 b4 a5 b5
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);  // a2 b2 a3 b3 | a6 b6 a7 b7
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);      // a0 b0 c0 d0 | a4 b4 c4 d4
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);  // a1 b1 c1 d1 | a5 ...
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(out + i * out_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(out + (i + 4) * out_stride, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

// Copies one panel of A, rows [i0, i0 + min(rows, kRows)) x depth [k0, k0 + depth): for each k,
// the kRows values A(i0 + r, k0 + k), 0 past the last row.
inline void pack_a(const Operand& a, int64_t i0, int64_t rows, int64_t k0, int64_t depth,
                   float* out) {
  const int64_t valid = std::min(kRows, rows);
  if (valid < kRows) std::fill(out, out + kRows * depth, 0.0f);
  if (a.row_stride == 1 && a.col_stride != 1) {
    // A column-major (a transposed operand): its kRows values for one k are contiguous.
    for (int64_t k = 0; k < depth; ++k) {
      const float* column = a.data + i0 + (k0 + k) * a.col_stride;
      for (int64_t r = 0; r < valid; ++r) out[k * kRows + r] = column[r];
    }
    return;
  }
  int64_t k_done = 0;
  if (a.col_stride == 1 && valid == kRows) {
    // A row-major: 8 x 8 blocks transposed in registers, 8 rows of A in, 8 values of k out.
    const float* rows[kRows];
    for (int64_t r = 0; r < kRows; ++r) rows[r] = a.data + (i0 + r) * a.row_stride + k0;
    for (; k_done + 8 <= depth; k_done += 8) {
      transpose_8x8(rows, k_done, out + k_done * kRows, kRows);
    }
  }
  for (int64_t r = 0; r < valid; ++r) {
    // Walks one row of A (contiguous when A is row-major) into every kRows-th slot.
    const float* row = a.data + (i0 + r) * a.row_stride + k0 * a.col_stride;
    for (int64_t k = k_done; k < depth; ++k) out[k * kRows + r] = row[k * a.col_stride];
  }
}

// Copies depth [k0, k0 + depth) x columns [j0, j0 + cols) of B into panels of kCols columns:
// panel q holds, for each k, the kCols values B(k0 + k, j0 + q kCols + c) (0 past the last column).
inline void pack_b(const Operand& b, int64_t k0, int64_t depth, int64_t j0, int64_t cols,
                   float* out) {
  for (int64_t q = 0; q < cols; q += kCols) {
    const int64_t valid = std::min(kCols, cols - q);
    if (b.row_stride == 1 && b.col_stride != 1) {
      // B column-major (a transposed operand, as the weight in a linear layer's x W^T): each
      // column is contiguous in k, so 8 x 8 blocks of 8 columns are transposed in registers, as in
      // pack_a, all the panel's columns for 8 values of k at a time (whole rows of the panel
      // written at once: 2-3% faster than 8 columns down the whole depth). The last depth % 8 rows,
      // the columns of a partial group of 8 and the zeros past the last column are copied one by
      // one.
      const int64_t grouped_cols = valid / 8 * 8, grouped_depth = depth / 8 * 8;
      const float* columns[kCols];
      for (int64_t c = 0; c < grouped_cols; ++c) {
        columns[c] = b.data + k0 + (j0 + q + c) * b.col_stride;
      }
      for (int64_t k = 0; k < grouped_depth; k += 8) {
        for (int64_t c0 = 0; c0 < grouped_cols; c0 += 8) {
          transpose_8x8(columns + c0, k, out + k * kCols + c0, kCols);
        }
      }
      for (int64_t k = 0; k < depth; ++k) {
        for (int64_t c = k < grouped_depth ? grouped_cols : 0; c < kCols; ++c) {
          out[k * kCols + c] = c < valid ? b.at(k0 + k, j0 + q + c) : 0.0f;
        }
      }
      out += depth * kCols;
      continue;
    }
    for (int64_t k = 0; k < depth; ++k) {
      const float* row = b.data + (k0 + k) * b.row_stride + (j0 + q) * b.col_stride;
      if (b.col_stride == 1) {
        // Three vector moves (std::copy would call memmove for each 192-byte row); masked loads
        // give the zeros past the last column of a partial panel.
        for (int64_t v = 0; v < kCols; v += 16) {
          _mm512_storeu_ps(out + v, _mm512_maskz_loadu_ps(lanes_below(valid - v), row + v));
        }
        out += kCols;
        continue;
      }
      for (int64_t c = 0; c < kCols; ++c) *out++ = c < valid ? row[c * b.col_stride] : 0.0f;
    }
  }
}

// Note [Transposed C]
// ~~~~~~~~~~~~~~~~~~~
// A Linear layer's forward is x W^T: B = W^T is column-major, so packing it is a transposing pass
// over the whole weight on every forward, while A = x, a batch of up to 144 rows, would be read in
// place (kInPlaceColPanels). The same product computed as C^T = W x^T reads the weight in place as
// A and packs only the batch (x^T as B), and its tiles are stored transposed into C. Each element
// is the same sum of the same products in the same order (a * b and b * a round alike), so the
// bits are those of C = x W^T.

// The epilogue of a transposed tile: element (r, j) of the finished tile (acc, r < rows, j < cols)
// plus C's value when `accumulate`, plus bias[r] (null: none), then ReLU when `relu`, stored at
// c[j * ldc + r]. Full 8 x 8 blocks go out through transpose_8x8, the rest one value at a time.
template <int kRegs>
void store_transposed(const __m512 (&acc)[kRows][kRegs], float* c, int64_t ldc, int64_t rows,
                      int64_t cols, bool accumulate, const float* bias, bool relu) {
  // With the sums final (no C to add), bias and ReLU are applied in the registers and full 8 x 8
  // blocks transposed out; otherwise everything goes one value at a time below.
  const bool final_sums = !accumulate && rows == kRows;
  alignas(64) float tile[kRows][kRegs * 16];
  for (int64_t r = 0; r < kRows; ++r) {
    for (int v = 0; v < kRegs; ++v) {
      __m512 value = acc[r][v];
      if (final_sums && bias != nullptr) value = _mm512_add_ps(value, _mm512_set1_ps(bias[r]));
      if (final_sums && relu) value = _mm512_max_ps(_mm512_setzero_ps(), value);
      _mm512_store_ps(&tile[r][16 * v], value);
    }
  }
  int64_t j = 0;
  if (final_sums) {
    const float* tile_rows[kRows];
    for (int64_t r = 0; r < kRows; ++r) tile_rows[r] = tile[r];
    for (; j + 8 <= cols; j += 8) transpose_8x8(tile_rows, j, c + j * ldc, ldc);
    for (; j < cols; ++j) {
      for (int64_t r = 0; r < rows; ++r) c[j * ldc + r] = tile[r][j];
    }
    return;
  }
  for (; j < cols; ++j) {
    for (int64_t r = 0; r < rows; ++r) {
      float* out = c + j * ldc + r;
      float value = tile[r][j];
      if (accumulate) value += *out;
      if (bias != nullptr) value += bias[r];
      if (relu) value = value < 0.0f ? 0.0f : value;  // keeps NaN and -0, as max(0, x) above
      *out = value;
    }
  }
}

// C[0:rows, 0:cols] (+)= A panel x B panel over `depth`, for rows <= kRows and cols <= kCols.
// The A panel is `a` with element (r, k) at a[r * a_row + k * a_col]: a packed panel (a_row = 1,
// a_col = kRows) or A read in place (kPackedA false: each of the kRows rows is walked by its own
// pointer). Row k of the B panel starts at b + k * b_stride: kCols for a packed panel, or B's own
// row stride when B is read in place. kEdge: B is read in place and only its first `cols` columns
// exist (masked loads, which cost a separate instruction each, so only at the right edge).
// `bias`, given with the last slice of the inner dimension: row r of the tile gets the values at
// bias + r * bias_row added to its finished sums (null: none); `relu`, also with the last slice
// only: ReLU after the bias, max(0, x), which keeps NaN (its second operand) as UnaryOp::Relu does.
// kRegs: how many of the panel's 3 registers of columns hold columns of C (fewer only in the last
// panel of a product whose width is not a multiple of kCols: 1024 columns end in a panel of 16,
// which would otherwise cost as much as a full one).
// kTransposedC: the tile is stored transposed, element (r, j) at c[j * ldc + r], and the bias is
// one value per row, bias[r] (Note [Transposed C]).
template <bool kEdge, bool kPackedA, int kRegs, bool kTransposedC>
void micro_kernel(int64_t depth, const float* a, int64_t a_row, int64_t a_col, const float* b,
                  int64_t b_stride, float* c, int64_t ldc, int64_t rows, int64_t cols,
                  bool accumulate, const float* bias, int64_t bias_row, bool relu) {
  __m512 acc[kRows][kRegs];
  for (auto& row : acc) {
    for (__m512& v : row) v = _mm512_setzero_ps();
  }
  __mmask16 masks[kRegs];
  for (int v = 0; v < kRegs; ++v) masks[v] = lanes_below(cols - 16 * v);
  // Rows past `rows` (A read in place has none) repeat the last row: computed, never stored.
  const float* a_rows[kRows];
  for (int64_t r = 0; r < kRows; ++r) a_rows[r] = a + std::min(r, rows - 1) * a_row;
  int64_t a_offset = 0;  // of the current k along each row, when A is read in place
  // One k of the panels: kRows x kRegs FMAs, with a prefetch of the B row `ahead` rows down.
  const auto step = [&](int64_t ahead) {
    __m512 b_k[kRegs];
    for (int v = 0; v < kRegs; ++v) {
      _mm_prefetch(reinterpret_cast<const char*>(b + ahead * b_stride + 16 * v), _MM_HINT_T0);
      b_k[v] = kEdge ? _mm512_maskz_loadu_ps(masks[v], b + 16 * v) : _mm512_loadu_ps(b + 16 * v);
    }
    for (int64_t r = 0; r < kRows; ++r) {
      // One broadcast of A per row and k, shared by the row's kRegs FMAs.
      const __m512 a_r = _mm512_set1_ps(kPackedA ? a[r] : a_rows[r][a_offset]);
      for (int v = 0; v < kRegs; ++v) acc[r][v] = _mm512_fmadd_ps(a_r, b_k[v], acc[r][v]);
    }
    if (kPackedA) {
      a += kRows;
    } else {
      a_offset += a_col;
    }
    b += b_stride;
  };
  // The prefetch stays within the panel (B past its end may not exist): the last kPrefetchAhead
  // rows prefetch the last row again. In a second loop, so that the first, nearly all of the
  // work, prefetches at a fixed distance instead of computing a minimum per k (0.5% at 1024^3).
  int64_t k = 0;
  for (; k + kPrefetchAhead < depth; ++k) step(kPrefetchAhead);
  for (; k < depth; ++k) step(depth - 1 - k);
  if constexpr (kTransposedC) {
    store_transposed<kRegs>(acc, c, ldc, rows, cols, accumulate, bias, relu);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* out = c + r * ldc;
    for (int64_t v = 0; v < kRegs; ++v) {
      const int64_t lanes = std::clamp<int64_t>(cols - 16 * v, 0, 16);
      if (lanes == 0) break;
      const __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1);
      __m512 value = acc[r][v];
      if (accumulate) value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, out + 16 * v));
      if (bias != nullptr) {
        value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, bias + r * bias_row + 16 * v));
      }
      if (relu) value = _mm512_max_ps(_mm512_setzero_ps(), value);
      _mm512_mask_storeu_ps(out + 16 * v, mask, value);
    }
  }
}

using MicroKernel = decltype(&micro_kernel<false, false, 3, false>);

// The micro-kernel for a panel of `cols` columns of C (at most kCols).
inline MicroKernel pick_kernel(bool edge, bool packed_a, int64_t cols, bool transposed_c) {
  const auto for_regs = [&]<int kRegs, bool kT>() -> MicroKernel {
    if (edge) {
      return packed_a ? micro_kernel<true, true, kRegs, kT> : micro_kernel<true, false, kRegs, kT>;
    }
    return packed_a ? micro_kernel<false, true, kRegs, kT> : micro_kernel<false, false, kRegs, kT>;
  };
  const auto for_layout = [&]<bool kT>() -> MicroKernel {
    if (cols <= 16) return for_regs.template operator()<1, kT>();
    if (cols <= 32) return for_regs.template operator()<2, kT>();
    return for_regs.template operator()<3, kT>();
  };
  return transposed_c ? for_layout.template operator()<true>()
                      : for_layout.template operator()<false>();
}

// The packing buffer of B, the calling thread's, kept from call to call: megabytes allocated
// afresh on every product would cost a page fault per 4 KiB touched.
inline float* scratch_b(int64_t count) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < static_cast<size_t>(count)) buffer.resize(static_cast<size_t>(count));
  return buffer.data();
}

// A block row of A (kBlockRows x kOuterDepth) packed by this thread (Note [Packing A per thread]):
// `round` names the product and inner-dimension chunk it was packed for (next_round()), i0 its
// first row. Allocated once per thread, as scratch_b.
struct ThreadA {
  std::vector<float> panels = std::vector<float>(kBlockRows * kOuterDepth);
  uint64_t round = 0;
  int64_t i0 = 0;
};
inline ThreadA& thread_a() {
  thread_local ThreadA a;
  return a;
}
// A number no earlier chunk of any product had: the key under which a ThreadA's panels are valid.
inline uint64_t next_round() {
  static std::atomic<uint64_t> rounds{0};
  return ++rounds;
}

/// C[M, N] (row stride ldc) = A[M, K] x B[K, N], plus a bias when `bias` is not null: row i of C
/// gets the N values at bias + i * bias_row added to its finished sums, then ReLU when `relu`.
/// transposed_c: C is stored transposed, element (i, j) at c[j * ldc + i], and row i gets bias[i]
/// (bias_row unused): the product's transpose, C^T = B^T A^T, was asked for (Note [Transposed C]).
inline void sgemm(int64_t M, int64_t N, int64_t K, const Operand& a, const Operand& b, float* c,
                  int64_t ldc, const float* bias, int64_t bias_row, bool relu,
                  bool transposed_c = false) {
  for (int64_t i_outer = 0; i_outer < M; i_outer += kOuter) {
    const int64_t rows = std::min(kOuter, M - i_outer);
    const int64_t row_panels = (rows + kRows - 1) / kRows;
    for (int64_t j_outer = 0; j_outer < N; j_outer += kOuter) {
      const int64_t cols = std::min(kOuter, N - j_outer);
      const int64_t col_panels = (cols + kCols - 1) / kCols;
      for (int64_t k_outer = 0; k_outer < K; k_outer += kOuterDepth) {
        const int64_t depth = std::min(kOuterDepth, K - k_outer);
        const int64_t slices = (depth + kDepth - 1) / kDepth;
        // Panel q of B holds its slices one after the other: slice s starts at
        // q * kCols * depth + s * kCols * kDepth. Likewise for A (Note [Packing A per thread]).
        // Packing A costs a pass over it, which only pays when its panels meet many B panels:
        // with at most kInPlaceColPanels of them (a product with few columns, such as the
        // [2048, 512] x [512, 128] of a Transformer's feed-forward block) A is read in place.
        // (A stored transposed is cheap to pack, 8 contiguous floats per k, and read in place it
        // would fetch a cache line per k for 8 of its floats.)
        const bool a_in_place = col_panels <= kInPlaceColPanels && a.col_stride == 1;
        // A row-major B is read in place when packing it would cost more than it saves
        // (Note [B in place]).
        const bool b_in_place =
            b.col_stride == 1 && (row_panels <= 2 || (row_panels <= kInPlaceRowPanels &&
                                                      b.row_stride % kConflictStride != 0));
        float* b_packed = b_in_place ? nullptr : scratch_b(col_panels * kCols * depth);
        parallel_for(b_in_place ? 0 : col_panels * slices, 4, [&](int64_t begin, int64_t end) {
          for (int64_t t = begin; t < end; ++t) {
            const int64_t q = t / slices, s = t % slices;
            pack_b(b, k_outer + s * kDepth, std::min(kDepth, depth - s * kDepth),
                   j_outer + q * kCols, std::min(kCols, cols - q * kCols),
                   b_packed + (q * depth + s * kDepth) * kCols);
          }
        });
        // Each task owns a block of C small enough to stay in cache across all the slices.
        const int64_t block_rows = (rows + kBlockRows - 1) / kBlockRows;
        const int64_t block_cols = (cols + kBlockCols - 1) / kBlockCols;
        const uint64_t round = next_round();
        parallel_for(block_rows * block_cols, 1, [&](int64_t begin, int64_t end) {
          ThreadA& mine = thread_a();
          for (int64_t block = begin; block < end; ++block) {
            const int64_t i0 = block / block_cols * kBlockRows;
            const int64_t j0 = block % block_cols * kBlockCols;
            const int64_t i1 = std::min(rows, i0 + kBlockRows),
                          j1 = std::min(cols, j0 + kBlockCols);
            if (!a_in_place && (mine.round != round || mine.i0 != i0)) {
              // Panel p of the block row holds its slices one after the other: slice s starts at
              // p * kRows * depth + s * kRows * kDepth.
              for (int64_t i = i0; i < i1; i += kRows) {
                for (int64_t s = 0; s < slices; ++s) {
                  pack_a(a, i_outer + i, i1 - i, k_outer + s * kDepth,
                         std::min(kDepth, depth - s * kDepth),
                         mine.panels.data() + ((i - i0) * depth + s * kDepth * kRows));
                }
              }
              mine.round = round;
              mine.i0 = i0;
            }
            for (int64_t s = 0; s < slices; ++s) {
              const int64_t slice = std::min(kDepth, depth - s * kDepth);
              for (int64_t j = j0; j < j1; j += kCols) {
                const float* b_panel =
                    b_in_place ? b.data + (k_outer + s * kDepth) * b.row_stride + j_outer + j
                               : b_packed + (j / kCols * depth + s * kDepth) * kCols;
                const int64_t b_stride = b_in_place ? b.row_stride : kCols;
                const bool edge = b_in_place && j1 - j < kCols;
                const auto kernel =
                    pick_kernel(edge, !a_in_place, std::min(kCols, j1 - j), transposed_c);
                const bool last_slice = k_outer + s * kDepth + slice == K;
                const int64_t col = j_outer + j;
                for (int64_t i = i0; i < i1; i += kRows) {
                  const int64_t row = i_outer + i, k = k_outer + s * kDepth;
                  const float* a_panel =
                      a_in_place ? a.data + row * a.row_stride + k * a.col_stride
                                 : mine.panels.data() + (i - i0) * depth + s * kDepth * kRows;
                  const float* tile_bias = nullptr;
                  if (last_slice && bias != nullptr) {
                    tile_bias = transposed_c ? bias + row : bias + row * bias_row + col;
                  }
                  kernel(slice, a_panel, a_in_place ? a.row_stride : 1,
                         a_in_place ? a.col_stride : kRows, b_panel, b_stride,
                         transposed_c ? c + col * ldc + row : c + row * ldc + col, ldc,
                         std::min(kRows, i1 - i), std::min(kCols, j1 - j), k_outer > 0 || s > 0,
                         tile_bias, bias_row, last_slice && relu);
                }
              }
            }
          }
        });
      }
    }
  }
}

}  // namespace bg::cpu::BG_CPU_ISA::packed

#endif  // __AVX512F__
