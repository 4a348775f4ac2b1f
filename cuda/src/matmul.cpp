// Batched matrix products through cuBLAS (strided batched GEMM).
//
// cuBLAS is column-major; our matrices are row-major. A row-major [M, N] matrix has the bytes of
// its column-major transpose, so C = A B is computed as C^T = B^T A^T: cuBLAS multiplies the
// column-major [N, K] matrix B^T by the [K, M] matrix A^T into the [N, M] matrix C^T, which is
// row-major C. An operand whose columns are contiguous instead of its rows (a transposed view, as
// the backward pass's a.t() @ grad) is passed with cuBLAS's transpose flag, without a copy; only
// operands with no unit stride are copied first. A bias (addmm, linear) is added to the finished
// product by the elementwise kernel, as the CPU's epilogue adds it, and the activation applied
// after it by the unary kernel: the same sums, then the bias, then the ReLU.

#include <climits>

#include "bg/core/tensor_impl.h"
#include "cublas_library.h"
#include "cuda_backend.h"
#include "runtime.h"

namespace bg::cuda {

namespace {

// One operand of a batch of [rows, cols] matrices, as cuBLAS takes it.
struct Operand {
  Tensor data;              // the tensor cuBLAS reads (the operand, or a contiguous copy of it)
  bool transposed = false;  // true when its columns, not its rows, are contiguous
  int64_t ld = 0;           // the stride between its rows (or columns, when transposed)
  int64_t batch_stride = 0;
};

Operand as_operand(const Tensor& t) {
  const int64_t rows = t.size(1), cols = t.size(2), s0 = t.stride(1), s1 = t.stride(2);
  if ((s1 == 1 || cols == 1) && (rows == 1 || s0 >= cols)) {
    return {t, false, rows == 1 ? cols : s0, t.stride(0)};
  }
  if ((s0 == 1 || rows == 1) && (cols == 1 || s1 >= rows)) {
    return {t, true, cols == 1 ? rows : s1, t.stride(0)};
  }
  const Tensor copy = contiguous_on_device(t);
  return {copy, false, cols, rows * cols};
}

int as_int(int64_t v) {
  BG_CHECK(v <= INT_MAX, "matmul", "a size or stride of ", v,
           " exceeds what the CUDA backend passes to cuBLAS (2^31 - 1)");
  return static_cast<int>(v);
}

}  // namespace

void CudaBackend::matmul(const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& bias,
                         MatmulActivation activation) {
  if (bias.defined() || activation != MatmulActivation::None) {
    matmul(out, a, b, Tensor(), MatmulActivation::None);
    if (bias.defined()) binary(BinaryOp::Add, out, out, bias);
    if (activation == MatmulActivation::Relu) unary(UnaryOp::Relu, out, out, {});
    return;
  }
  use_device(out.device(), "matmul");
  const int64_t batch = a.size(0), M = a.size(1), K = a.size(2), N = b.size(2);
  if (out.numel() == 0) return;
  if (K == 0) {  // an empty sum: zeros
    fill(out, 0);
    return;
  }
  const Operand A = as_operand(a), B = as_operand(b);
  // C^T [N, M] = op(B^T) [N, K] * op(A^T) [K, M]: a row-major operand is already its transpose.
  const cublasOperation_t op_b = B.transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = A.transposed ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int n = as_int(N), m = as_int(M), k = as_int(K), count = as_int(batch);
  const int ldb = as_int(B.ld), lda = as_int(A.ld);
  if (out.dtype() == kFloat32) {
    const float one = 1.0f, zero = 0.0f;
    check_blas(cublas().sgemm_strided_batched(
                   current_blas(), op_b, op_a, n, m, k, &one,
                   static_cast<const float*>(B.data.impl()->data()), ldb, B.batch_stride,
                   static_cast<const float*>(A.data.impl()->data()), lda, A.batch_stride, &zero,
                   static_cast<float*>(out.impl()->data()), n, M * N, count),
               "matmul");
  } else {
    BG_CHECK(out.dtype() == kFloat64, "matmul", "expected float32 or float64 operands, got ",
             describe(out));
    const double one = 1.0, zero = 0.0;
    check_blas(cublas().dgemm_strided_batched(
                   current_blas(), op_b, op_a, n, m, k, &one,
                   static_cast<const double*>(B.data.impl()->data()), ldb, B.batch_stride,
                   static_cast<const double*>(A.data.impl()->data()), lda, A.batch_stride, &zero,
                   static_cast<double*>(out.impl()->data()), n, M * N, count),
               "matmul");
  }
}

}  // namespace bg::cuda
