// Fused Gaussian variational kernels on the CPU (fused_gaussian.h).
//
// Each kernel walks its operands once, applying the per-element formulas below to contiguous
// blocks (for_each_contiguous_block): the prior's tensors, often 0-d (broadcast with zero
// strides), are copied into blocks like any operand that is not contiguous. softplus, sigmoid and
// log are those of elementwise_math.h (Note [Elementwise math]), accurate to a few ulp in float32.

#include <Eigen/Core>
#include <cmath>
#include <cstring>
#include <vector>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/elementwise_math.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

// The per-element formulas, forced inline like those of elementwise_math.h, so that the loops
// calling them vectorize.

// sigma = softplus(rho) with PyTorch's default beta = 1 and threshold = 20, as bg::softplus
// computes it.
template <typename T>
[[gnu::always_inline]] inline T sigma_of(T rho) {
  return math::softplus(rho, T(1), T(20));
}

// The sample w = mu + sigma eps, and its gradient with respect to rho: d softplus(rho) / d rho =
// sigmoid(rho).
template <typename T>
[[gnu::always_inline]] inline T sample(T mu, T rho, T eps) {
  return mu + sigma_of(rho) * eps;
}
template <typename T>
[[gnu::always_inline]] inline T sample_grad_rho(T grad, T rho, T eps) {
  return grad * eps * math::sigmoid(rho);
}

// KL(N(mu, sigma^2) || N(pm, ps^2)) = log(ps / sigma) + (sigma^2 + (mu - pm)^2) / (2 ps^2) - 1/2.
template <typename T>
[[gnu::always_inline]] inline T kl(T mu, T rho, T pm, T ps) {
  const T sigma = sigma_of(rho), d = mu - pm;
  return math::log(ps / sigma) + (sigma * sigma + d * d) / (ps * ps * T(2)) - T(0.5);
}
// Its gradients, times g: d/dmu = (mu - pm) / ps^2, d/drho = (sigma / ps^2 - 1 / sigma)
// sigmoid(rho).
template <typename T>
[[gnu::always_inline]] inline T kl_grad_mu(T g, T mu, T pm, T ps) {
  return g * (mu - pm) / (ps * ps);
}
template <typename T>
[[gnu::always_inline]] inline T kl_grad_rho(T g, T rho, T ps) {
  const T sigma = sigma_of(rho);
  return g * (sigma / (ps * ps) - T(1) / sigma) * math::sigmoid(rho);
}

// The sum of n terms in float64. float32 terms go to 16 running sums (term i to sum i % 16, two
// vectors of 8 that every instruction set vectorizes, where Eigen evaluates a cast<double>() one
// element at a time), added in a fixed order at the end: the same bits on every thread count.
[[gnu::always_inline]] inline double sum_in_double(const float* x, int64_t n) {
  using Double8 = double __attribute__((vector_size(64)));
  using Float8 = float __attribute__((vector_size(32)));
  Double8 low = {}, high = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Float8 a, b;
    std::memcpy(&a, x + i, sizeof a);
    std::memcpy(&b, x + i + 8, sizeof b);
    low += __builtin_convertvector(a, Double8);
    high += __builtin_convertvector(b, Double8);
  }
  const Double8 lanes = low + high;
  double sum = 0;
  for (int j = 0; j < 8; ++j) sum += lanes[j];
  for (; i < n; ++i) sum += static_cast<double>(x[i]);
  return sum;
}
[[gnu::always_inline]] inline double sum_in_double(const double* x, int64_t n) {
  return Eigen::Map<const Eigen::ArrayXd>(x, n).sum();
}

}  // namespace

void CpuBackend::gaussian_sample(const Tensor& out, const Tensor& mu, const Tensor& rho,
                                 const Tensor& eps) {
  dispatch_floating(out.dtype(), "gaussian_sample", [&](auto tag) {
    using T = decltype(tag);
    StridedLoop<4> loop({&out, &mu, &rho, &eps});
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        for_each_contiguous_block<T, 1, 4>(p, n, s, [](T* const* data, int64_t length) {
          T* __restrict w = data[0];
          const T* __restrict m = data[1], * __restrict r = data[2], * __restrict e = data[3];
          for (int64_t i = 0; i < length; ++i) w[i] = sample(m[i], r[i], e[i]);
        });
      });
    });
  });
}

void CpuBackend::gaussian_sample_backward(const Tensor& grad_rho, const Tensor& grad,
                                          const Tensor& rho, const Tensor& eps) {
  dispatch_floating(grad_rho.dtype(), "gaussian_sample", [&](auto tag) {
    using T = decltype(tag);
    StridedLoop<4> loop({&grad_rho, &grad, &rho, &eps});
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        for_each_contiguous_block<T, 1, 4>(p, n, s, [](T* const* data, int64_t length) {
          T* __restrict out = data[0];
          const T* __restrict g = data[1], * __restrict r = data[2], * __restrict e = data[3];
          for (int64_t i = 0; i < length; ++i) out[i] = sample_grad_rho(g[i], r[i], e[i]);
        });
      });
    });
  });
}

void CpuBackend::gaussian_kl(const Tensor& out, const Tensor& mu, const Tensor& rho,
                             const Tensor& prior_mu, const Tensor& prior_sigma) {
  dispatch_floating(mu.dtype(), "gaussian_kl", [&](auto tag) {
    using T = decltype(tag);
    StridedLoop<4> loop({&mu, &rho, &prior_mu, &prior_sigma});
    // One partial sum per fixed chunk, added in chunk order (Note [Deterministic chunks]); each
    // block's terms are summed in float64.
    const int64_t chunks = (loop.numel() + kElementwiseGrain - 1) / kElementwiseGrain;
    std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      double sum = 0;
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        for_each_contiguous_block<T, 0, 4>(p, n, s, [&](T* const* data, int64_t length) {
          const T* __restrict m = data[0], * __restrict r = data[1], * __restrict pm = data[2], * __restrict ps = data[3];
          alignas(64) T terms[kVectorBlock];
          for (int64_t i = 0; i < length; ++i) terms[i] = kl(m[i], r[i], pm[i], ps[i]);
          sum += sum_in_double(terms, length);
        });
      });
      partial[static_cast<size_t>(begin / kElementwiseGrain)] = sum;
    });
    double total = 0;
    for (double v : partial) total += v;
    *static_cast<T*>(out.impl()->data()) = static_cast<T>(total);
  });
}

void CpuBackend::gaussian_kl_backward(const Tensor& grad_mu, const Tensor& grad_rho,
                                      const Tensor& grad, const Tensor& mu, const Tensor& rho,
                                      const Tensor& prior_mu, const Tensor& prior_sigma) {
  dispatch_floating(mu.dtype(), "gaussian_kl", [&](auto tag) {
    using T = decltype(tag);
    const T g = *static_cast<const T*>(grad.impl()->data());
    StridedLoop<6> loop({&grad_mu, &grad_rho, &mu, &rho, &prior_mu, &prior_sigma});
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        for_each_contiguous_block<T, 2, 6>(p, n, s, [&](T* const* data, int64_t length) {
          T* __restrict out_mu = data[0], * __restrict out_rho = data[1];
          const T* __restrict m = data[2], * __restrict r = data[3], * __restrict pm = data[4], * __restrict ps = data[5];
          for (int64_t i = 0; i < length; ++i) out_mu[i] = kl_grad_mu(g, m[i], pm[i], ps[i]);
          for (int64_t i = 0; i < length; ++i) out_rho[i] = kl_grad_rho(g, r[i], ps[i]);
        });
      });
    });
  });
}

void CpuBackend::gaussian_sample_kl_backward(const Tensor& grad_mu, const Tensor& grad_rho,
                                             const Tensor& grad, const Tensor& kl_grad,
                                             const Tensor& mu, const Tensor& rho, const Tensor& eps,
                                             const Tensor& prior_mu, const Tensor& prior_sigma) {
  dispatch_floating(mu.dtype(), "gaussian_sample_kl", [&](auto tag) {
    using T = decltype(tag);
    const T g = *static_cast<const T*>(kl_grad.impl()->data());
    StridedLoop<8> loop({&grad_mu, &grad_rho, &grad, &mu, &rho, &eps, &prior_mu, &prior_sigma});
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        for_each_contiguous_block<T, 2, 8>(p, n, s, [&](T* const* data, int64_t length) {
          T* __restrict out_mu = data[0], * __restrict out_rho = data[1];
          const T* __restrict up = data[2], * __restrict m = data[3], * __restrict r = data[4];
          const T* __restrict e = data[5], * __restrict pm = data[6], * __restrict ps = data[7];
          // The sample's terms as gaussian_sample_backward computes them (its gradient for mu is
          // the upstream one), the KL's as gaussian_kl_backward does, and their sums: the same
          // bits as the two kernels apart and the engine's sums.
          for (int64_t i = 0; i < length; ++i)
            out_mu[i] = up[i] + kl_grad_mu(g, m[i], pm[i], ps[i]);
          for (int64_t i = 0; i < length; ++i)
            out_rho[i] = sample_grad_rho(up[i], r[i], e[i]) + kl_grad_rho(g, r[i], ps[i]);
        });
      });
    });
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
