// Fused softmax and log_softmax on the CPU.
//
// The input is seen as [A, D, C] with the softmax dim D in the middle. Each slice [D, C] is a
// matrix whose columns are normalized: subtract the column max (so exp never overflows), then
//   softmax = e / sum(e),   log_softmax = (x - max) - log(sum(e)).

#include <Eigen/Core>
#include <cmath>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/vector_math.h"
#include "ops/op_utils.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

// Over the last dim (C = 1): each of the A rows of D elements is contiguous, and a column
// vector of Eigen's is what vectorizes (a D x 1 row-major matrix has rows of one element).
template <typename T>
void softmax_rows(T* out, const T* in, int64_t A, int64_t D, bool log) {
  using Vector = Eigen::Array<T, Eigen::Dynamic, 1>;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(D, 1));
  parallel_for(A, grain, [&](int64_t begin, int64_t end) {
    for (int64_t a = begin; a < end; ++a) {
      Eigen::Map<const Vector> x(in + a * D, D);
      Eigen::Map<Vector> y(out + a * D, D);
      const T max = x.maxCoeff();
      y = x - max;
      if (log) {
        y -= std::log(y.exp().sum());
      } else {
        y = exp_underflowing(y);  // masked (-inf) entries give exactly 0
        y /= y.sum();
      }
    }
  });
}

template <typename T>
void softmax_slices(T* out, const T* in, int64_t A, int64_t D, int64_t C, bool log) {
  if (C == 1 && D > 0) return softmax_rows(out, in, A, D, log);
  using Matrix = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(D * C, 1));
  parallel_for(A, grain, [&](int64_t begin, int64_t end) {
    for (int64_t a = begin; a < end; ++a) {
      Eigen::Map<const Matrix> x(in + a * D * C, D, C);
      Eigen::Map<Matrix> y(out + a * D * C, D, C);
      const auto max = x.colwise().maxCoeff().eval();
      y = x.rowwise() - max;
      if (log) {
        const auto log_sum = y.exp().colwise().sum().log().eval();
        y.rowwise() -= log_sum;
      } else {
        y = exp_underflowing(y);  // masked (-inf) entries give exactly 0
        const auto sum = y.colwise().sum().eval();
        y.rowwise() /= sum;
      }
    }
  });
}

}  // namespace

void CpuBackend::softmax(const Tensor& out, const Tensor& in, int64_t dim, bool log) {
  Tensor src = in;
  if (!src.is_contiguous()) {
    src = detail::empty_tensor("softmax", in.sizes(), in.dtype(), in.device());
    copy(src, in);
  }
  int64_t A = 1, C = 1;
  for (int64_t d = 0; d < in.dim(); ++d) {
    if (d < dim) A *= in.size(d);
    if (d > dim) C *= in.size(d);
  }
  const int64_t D = in.dim() == 0 ? 1 : in.size(dim);
  dispatch_floating(in.dtype(), "softmax", [&](auto tag) {
    using T = decltype(tag);
    softmax_slices<T>(static_cast<T*>(out.impl()->data()),
                      static_cast<const T*>(src.impl()->data()), A, D, C, log);
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
