// Batched matrix products on the CPU: Eigen's GEMM on maps of the raw buffers, threads from TBB.
//
// Eigen runs single-threaded (EIGEN_DONT_PARALLELIZE); parallelism comes from splitting the
// output into fixed tiles (or batches) that TBB runs on its one pool, so no second thread pool
// competes for the cores. Each output element is computed by one GEMM call over the full inner
// dimension, and the tiling depends only on the shapes: the result is the same on any number of
// threads (Note [Deterministic chunks]).
//
// Transposed operands (the backward pass's a.t() @ grad) need no copy: a matrix whose columns are
// contiguous is mapped as column-major. Small products go to small_gemm.h instead, and large
// float32 products on AVX-512 machines to packed_gemm.h, which keeps the FMA units busier; products
// with a long inner dimension, a small output and both operands contiguous along the inner
// dimension (weight gradients) to dot_gemm.h.
//
// A bias (addmm, linear) is added in the epilogue, and a ReLU applied after it (a Linear layer
// followed by a ReLU): by small_gemm and the packed GEMM as each register tile is stored, and
// after each tile of Eigen's GEMM or dot_gemm while it is in cache; never as a second pass over
// the whole output. Both act on the finished sums, so the result equals relu(product + bias)
// computed op by op, bit for bit.

#include <Eigen/Core>
#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/dot_gemm.h"
#include "cpu/packed_gemm.h"
#include "cpu/parallel.h"
#include "cpu/small_gemm.h"
#include "ops/op_utils.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

// How one [rows, cols] matrix with element strides (s0, s1) can be mapped.
struct Layout {
  enum Kind { RowMajor, ColMajor, Strided } kind = Strided;
  int64_t outer = 0;  // the stride between rows (RowMajor) or columns (ColMajor)
};

Layout layout_of(int64_t rows, int64_t cols, int64_t s0, int64_t s1) {
  if ((s1 == 1 || cols == 1) && (rows == 1 || s0 >= cols)) {
    return {Layout::RowMajor, rows == 1 ? cols : s0};
  }
  if ((s0 == 1 || rows == 1) && (cols == 1 || s1 >= rows)) {
    return {Layout::ColMajor, cols == 1 ? rows : s1};
  }
  return {};
}

template <typename T, int Order>
using ConstMatMap = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Order>, 0,
                               Eigen::OuterStride<>>;
template <typename T>
using OutMap = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>, 0,
                          Eigen::OuterStride<>>;

// Output tiles of a large product; small products run as one call.
constexpr int64_t kTileRows = 128;
constexpr int64_t kTileCols = 256;
constexpr int64_t kSplitFlops = int64_t{1} << 21;
// Products up to this many multiply-adds, with a narrow output, go to small_gemm; so do products
// of any height with fewer than kNarrowCols columns and a short inner dimension (the hidden
// layers of a small MLP on a large batch: [5000, 20] x [20, 20]), whose output is narrower than
// the packed GEMM's micro-tile. Their rows are split into chunks of kSmallChunkRows.
constexpr int64_t kSmallFlops = int64_t{1} << 18;
constexpr int64_t kSmallCols = 128;
constexpr int64_t kNarrowCols = 48;
constexpr int64_t kNarrowDepth = 256;
constexpr int64_t kSmallChunkRows = 512;

// The epilogue: output row i of batch b gets the values at bias + b * batch + i * row (unit column
// stride) added, bias being null when there is none, then ReLU when `relu`.
template <typename T>
struct Epilogue {
  const T* bias = nullptr;
  int64_t batch = 0, row = 0;
  bool relu = false;
  bool any() const { return bias != nullptr || relu; }
  const T* bias_of(int64_t b, int64_t i) const {
    return bias != nullptr ? bias + b * batch + i * row : nullptr;
  }
};

// The epilogue on C[rows, cols] (row stride ldc), whose bias rows start at `bias` (or null): what
// the kernels that do not apply it in their registers run on each tile they finish.
template <typename T>
void finish_tile(T* c, int64_t ldc, int64_t rows, int64_t cols, const T* bias, int64_t bias_row,
                 bool relu) {
  for (int64_t i = 0; i < rows; ++i) {
    T* out = c + i * ldc;
    if (bias != nullptr) {
      const T* add = bias + i * bias_row;
      for (int64_t j = 0; j < cols; ++j) out[j] += add[j];
    }
    if (relu) {
      for (int64_t j = 0; j < cols; ++j) out[j] = out[j] < T(0) ? T(0) : out[j];
    }
  }
}

struct Problem {
  int64_t B, M, N, K;
  int64_t a_batch, b_batch;  // element strides between batches (0 when broadcast)
  Layout a, b;
};

template <typename T, int OrderA, int OrderB>
void gemm(const Problem& p, T* out, const T* a, const T* b, const Epilogue<T>& epilogue) {
  auto tile = [&](int64_t batch, int64_t r0, int64_t rows, int64_t c0, int64_t cols) {
    const ConstMatMap<T, OrderA> A(a + batch * p.a_batch, p.M, p.K,
                                   Eigen::OuterStride<>(p.a.outer));
    const ConstMatMap<T, OrderB> Bm(b + batch * p.b_batch, p.K, p.N,
                                    Eigen::OuterStride<>(p.b.outer));
    OutMap<T> C(out + batch * p.M * p.N + r0 * p.N + c0, rows, cols, Eigen::OuterStride<>(p.N));
    C.noalias() = A.middleRows(r0, rows) * Bm.middleCols(c0, cols);
    if (epilogue.any()) {
      const T* bias = epilogue.bias_of(batch, r0);
      finish_tile(C.data(), p.N, rows, cols, bias != nullptr ? bias + c0 : nullptr, epilogue.row,
                  epilogue.relu);
    }
  };
  const int64_t flops = p.M * p.N * p.K;
  if (p.B > 1 || flops < kSplitFlops) {
    // One call per batch, batches grouped so each task has enough work.
    const int64_t grain = std::max<int64_t>(1, kSplitFlops / std::max<int64_t>(flops, 1));
    parallel_for(p.B, grain, [&](int64_t begin, int64_t end) {
      for (int64_t batch = begin; batch < end; ++batch) tile(batch, 0, p.M, 0, p.N);
    });
    return;
  }
  const int64_t tile_rows = (p.M + kTileRows - 1) / kTileRows;
  const int64_t tile_cols = (p.N + kTileCols - 1) / kTileCols;
  parallel_for(tile_rows * tile_cols, 1, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t r0 = (t / tile_cols) * kTileRows, c0 = (t % tile_cols) * kTileCols;
      tile(0, r0, std::min(kTileRows, p.M - r0), c0, std::min(kTileCols, p.N - c0));
    }
  });
}

template <typename T>
void gemm_dispatch(const Problem& p, T* out, const T* a, const T* b, const Epilogue<T>& epilogue) {
  constexpr int R = Eigen::RowMajor, C = Eigen::ColMajor;
  const bool a_row = p.a.kind == Layout::RowMajor, b_row = p.b.kind == Layout::RowMajor;
  if (a_row && b_row) return gemm<T, R, R>(p, out, a, b, epilogue);
  if (a_row) return gemm<T, R, C>(p, out, a, b, epilogue);
  if (b_row) return gemm<T, C, R>(p, out, a, b, epilogue);
  return gemm<T, C, C>(p, out, a, b, epilogue);
}

// A 3-d operand the GEMM can map: itself, or a contiguous copy when its matrices are strided both
// ways.
Tensor mappable(const Tensor& t, Layout& layout) {
  layout = layout_of(t.size(1), t.size(2), t.stride(1), t.stride(2));
  if (layout.kind != Layout::Strided) return t;
  Tensor copy = detail::empty_tensor("matmul", t.sizes(), t.dtype(), t.device());
  backend(DeviceType::CPU).copy(copy, t);
  layout = layout_of(t.size(1), t.size(2), copy.stride(1), copy.stride(2));
  return copy;
}

}  // namespace

void CpuBackend::matmul(const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& bias,
                        MatmulActivation activation) {
  Problem p{a.size(0), a.size(1), b.size(2), a.size(2), 0, 0, {}, {}};
  if (bias.defined() && (p.K == 0 || (bias.stride(2) != 1 && p.N > 1))) {
    // An empty sum, or a bias that is not contiguous along the rows (broadcast along them, as an
    // addmm input [M, 1]): the product, then the bias added and the activation applied by the
    // elementwise kernels.
    matmul(out, a, b, Tensor(), MatmulActivation::None);
    binary(BinaryOp::Add, out, out, bias);
    if (activation == MatmulActivation::Relu) unary(UnaryOp::Relu, out, out, {});
    return;
  }
  if (p.K == 0) {  // an empty sum: zeros, which ReLU keeps
    fill(out, 0);
    return;
  }
  dispatch_floating(out.dtype(), "matmul", [&](auto tag) {
    using T = decltype(tag);
    const T* a_data = static_cast<const T*>(a.impl()->data());
    const T* b_data = static_cast<const T*>(b.impl()->data());
    T* out_data = static_cast<T*>(out.impl()->data());
    const Epilogue<T> epilogue{
        bias.defined() ? static_cast<const T*>(bias.impl()->data()) : nullptr,
        bias.defined() ? bias.stride(0) : 0, bias.defined() ? bias.stride(1) : 0,
        activation == MatmulActivation::Relu};
    const int64_t flops = p.M * p.N * p.K;
    if (a.stride(2) == 1 && b.stride(1) == 1 && dot_gemm_suits(p.M, p.N, p.K)) {
      // Both operands contiguous along a long inner dimension (a convolution's weight gradient):
      // dot products in place, no transposing copy of B (dot_gemm.h).
      for (int64_t batch = 0; batch < p.B; ++batch) {
        T* c = out_data + batch * p.M * p.N;
        dot_gemm(p.M, p.N, p.K, a_data + batch * a.stride(0), a.stride(1),
                 b_data + batch * b.stride(0), b.stride(2), c, p.N);
        if (epilogue.any()) {
          finish_tile(c, p.N, p.M, p.N, epilogue.bias_of(batch, 0), epilogue.row, epilogue.relu);
        }
      }
      return;
    }
    if (p.N <= kSmallCols && (flops <= kSmallFlops || (p.N < kNarrowCols && p.K <= kNarrowDepth))) {
      // Tasks of kSmallChunkRows rows of one batch, grouped so that each has enough work; every
      // row is computed the same way whatever the grouping (Note [Deterministic chunks]).
      const int64_t chunks = (p.M + kSmallChunkRows - 1) / kSmallChunkRows;
      const int64_t chunk_flops = std::min(p.M, kSmallChunkRows) * p.N * p.K;
      const int64_t grain = std::max<int64_t>(1, kSplitFlops / std::max<int64_t>(chunk_flops, 1));
      // One B for every chunk (a tall product): its rows as small_gemm reads them made once here,
      // not once per chunk (a [5000, 20] x [20, 20] product has 10). Dot products read B as it is.
      std::vector<T> b_copy;
      std::pair<const T*, int64_t> b_rows{nullptr, 0};
      if (chunks > 1 && (p.B == 1 || b.stride(0) == 0) &&
          !small_gemm_by_dots<T>(p.N, a.stride(2), p.N)) {
        b_rows = small_gemm_rows(p.K, p.N, b_data, b.stride(1), b.stride(2), b_copy);
      }
      parallel_for(p.B * chunks, grain, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
          const int64_t batch = task / chunks, r0 = task % chunks * kSmallChunkRows;
          const bool padded = b_rows.first != nullptr;
          small_gemm(std::min(kSmallChunkRows, p.M - r0), p.N, p.K,
                     a_data + batch * a.stride(0) + r0 * a.stride(1), a.stride(1), a.stride(2),
                     padded ? b_rows.first : b_data + batch * b.stride(0),
                     padded ? b_rows.second : b.stride(1), padded ? 1 : b.stride(2), padded,
                     out_data + (batch * p.M + r0) * p.N, p.N, epilogue.bias_of(batch, r0),
                     epilogue.row, epilogue.relu);
        }
      });
      return;
    }
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>) {
      if (p.N >= packed::kCols) {
        // A Linear layer's forward (x W^T, a batch of few rows): computed as (W x^T)^T, which
        // reads the weight in place instead of packing its transpose (Note [Transposed C] in
        // packed_gemm.h). The bias must then be one row for all (epilogue.row 0).
        const bool transposed = a.stride(2) == 1 && b.stride(1) == 1 && b.stride(2) != 1 &&
                                p.M <= packed::kInPlaceColPanels * packed::kCols &&
                                epilogue.row == 0;
        for (int64_t batch = 0; batch < p.B; ++batch) {
          const packed::Operand a_batch{a_data + batch * a.stride(0), a.stride(1), a.stride(2)};
          const packed::Operand b_batch{b_data + batch * b.stride(0), b.stride(1), b.stride(2)};
          float* c = out_data + batch * p.M * p.N;
          if (transposed) {
            packed::sgemm(p.N, p.M, p.K, b_batch.transposed(), a_batch.transposed(), c, p.N,
                          epilogue.bias_of(batch, 0), 0, epilogue.relu, /*transposed_c=*/true);
          } else {
            packed::sgemm(p.M, p.N, p.K, a_batch, b_batch, c, p.N, epilogue.bias_of(batch, 0),
                          epilogue.row, epilogue.relu);
          }
        }
        return;
      }
    }
#endif
    const Tensor am = mappable(a, p.a);
    const Tensor bm = mappable(b, p.b);
    p.a_batch = am.size(0) == 1 ? 0 : am.stride(0);
    p.b_batch = bm.size(0) == 1 ? 0 : bm.stride(0);
    gemm_dispatch<T>(p, out_data, static_cast<const T*>(am.impl()->data()),
                     static_cast<const T*>(bm.impl()->data()), epilogue);
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
