// Fused Gaussian variational kernels on the CPU (fused_gaussian.h).
//
// Each kernel walks its operands once, applying the per-element formulas below to contiguous
// blocks (for_each_contiguous_block). A prior of one value (0-d, broadcast with zero strides) is
// not walked: its terms are computed once (with_prior); a tensor prior is walked like the other
// operands. softplus, sigmoid and log are those of elementwise_math.h (Note [Elementwise math]),
// accurate to a few ulp in float32.

#include <Eigen/Core>
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "bg/core/small_vector.h"
#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/elementwise_math.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

// The per-element formulas, forced inline like those of elementwise_math.h, so that the loops
// calling them vectorize. They take sigma = softplus(rho) and sigmoid(rho) = d sigma / d rho from
// e = exp(-|rho|) computed beforehand (Note [exp(-|rho|) in a loop of its own]).

// Note [exp(-|rho|) in a loop of its own]
// sigma = softplus(rho) is e = exp(-|rho|), then log1p(e) (math::softplus_from); sigmoid(rho) is
// finished from the same e (math::sigmoid_from). In one loop with the rest of a kernel's formula,
// each vector's chain of dependent instructions (the exp, then log1p with its two divisions, ...)
// is longer than the core can overlap with the next iterations' chains. So each kernel below
// computes e for its block (at most kVectorBlock elements) in a loop of its own first, then the
// rest in its loop over the operands' memory; the KL, whose formula adds a log, computes sigma in
// a loop of its own too (sigma_block). The same bits. On a Zen 4 EPYC (float32, 2.4 M elements, 1
// thread, programs before and after run alternately): the sample 3.6 -> 2.6 ms, the KL 6.5-7.2 ->
// 4.0-4.5 ms, a sample, its KL and their joined backward 15.4-17.2 -> 11.2-12.3 ms. A last loop
// that only streams memory does not pay: the sample with sigma in a loop of its own took as long
// as in one loop.

// e = exp(-|rho|) of a block of n <= kVectorBlock elements.
template <typename T>
[[gnu::always_inline]] inline void exp_minus_abs_block(const T* __restrict rho, int64_t n,
                                                       T* __restrict e) {
  for (int64_t i = 0; i < n; ++i) e[i] = math::exp_minus_abs(rho[i]);
}

// sigma = softplus(rho) from e = exp(-|rho|), with PyTorch's default beta = 1 and threshold = 20,
// as bg::softplus computes it.
template <typename T>
[[gnu::always_inline]] inline T sigma_from(T rho, T e) {
  return math::softplus_from(rho, e, T(1), T(20));
}

// e = exp(-|rho|) and sigma of a block, each in a loop of its own.
template <typename T>
[[gnu::always_inline]] inline void sigma_block(const T* __restrict rho, int64_t n, T* __restrict e,
                                               T* __restrict sigma) {
  exp_minus_abs_block(rho, n, e);
  for (int64_t i = 0; i < n; ++i) sigma[i] = sigma_from(rho[i], e[i]);
}

// The sample w = mu + sigma eps, and its gradient with respect to rho: grad eps sigmoid(rho).
template <typename T>
[[gnu::always_inline]] inline T sample(T mu, T sigma, T eps) {
  return mu + sigma * eps;
}
template <typename T>
[[gnu::always_inline]] inline T sample_grad_rho(T grad, T eps, T sigmoid) {
  return grad * eps * sigmoid;
}

// A Gaussian prior's terms in the KL and its gradients: its mean, log(sigma) and 1 / sigma^2. For a
// prior of one value (0-d, the usual one) they are computed once per kernel, for a tensor prior per
// element, by this one function: the same terms either way. For the usual prior the KL takes two
// divisions per element fewer than log(ps / sigma) + (...) / (2 ps^2), and each gradient one fewer;
// a tensor prior (rare) pays a log per element more than those quotients.
template <typename T>
struct PriorTerms {
  T mu, log_sigma, inv_var;
};
template <typename T>
[[gnu::always_inline]] inline PriorTerms<T> prior_terms(T mu, T sigma) {
  return {mu, math::log(sigma), T(1) / (sigma * sigma)};
}

// KL(N(mu, sigma^2) || N(pm, ps^2)) = log(ps) - log(sigma) + (sigma^2 + (mu - pm)^2) / (2 ps^2) -
// 1/2.
template <typename T>
[[gnu::always_inline]] inline T kl(T mu, T sigma, const PriorTerms<T>& prior) {
  const T d = mu - prior.mu;
  return prior.log_sigma - math::log(sigma) + (sigma * sigma + d * d) * prior.inv_var * T(0.5) -
         T(0.5);
}
// Its gradients, times g: d/dmu = (mu - pm) / ps^2, d/drho = (sigma / ps^2 - 1 / sigma)
// sigmoid(rho).
template <typename T>
[[gnu::always_inline]] inline T kl_grad_mu(T g, T mu, const PriorTerms<T>& prior) {
  return g * (mu - prior.mu) * prior.inv_var;
}
template <typename T>
[[gnu::always_inline]] inline T kl_grad_rho(T g, T sigma, T sigmoid, const PriorTerms<T>& prior) {
  return g * (sigma * prior.inv_var - T(1) / sigma) * sigmoid;
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

// Calls block(chunk, data, length) on contiguous blocks of the operands (the first Outputs
// written; for_each_contiguous_block), `chunk` being the index of the fixed parallel chunk the
// block belongs to (Note [Deterministic chunks]).
template <typename T, int Outputs, size_t N, typename Block>
void for_each_block(const std::array<const Tensor*, N>& operands, const Block& block) {
  StridedLoop<N> loop(operands);
  parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
    const int64_t chunk = begin / kElementwiseGrain;
    loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
      for_each_contiguous_block<T, Outputs, static_cast<int>(N)>(
          p, n, s, [&](T* const* data, int64_t length) { block(chunk, data, length); });
    });
  });
}

// Whether t is one value broadcast to its whole shape (every stride 0): a 0-d prior.
bool is_one_value(const Tensor& t) {
  const Shape& strides = t.strides();
  return std::all_of(strides.begin(), strides.end(), [](int64_t s) { return s == 0; });
}

// Runs kernel(operands, prior) where prior(data, i) gives the prior's terms of element i. For a
// prior of one value they are computed once and the kernel walks the given operands only; else
// prior_mu and prior_sigma are walked too, as its last two operands, and the terms computed per
// element.
template <typename T, size_t N, typename Kernel>
void with_prior(const std::array<const Tensor*, N>& operands, const Tensor& prior_mu,
                const Tensor& prior_sigma, const Kernel& kernel) {
  if (is_one_value(prior_mu) && is_one_value(prior_sigma)) {
    const PriorTerms<T> terms = prior_terms(*static_cast<const T*>(prior_mu.impl()->data()),
                                            *static_cast<const T*>(prior_sigma.impl()->data()));
    kernel(operands, [terms](T* const*, int64_t) { return terms; });
    return;
  }
  std::array<const Tensor*, N + 2> all;
  std::copy(operands.begin(), operands.end(), all.begin());
  all[N] = &prior_mu;
  all[N + 1] = &prior_sigma;
  kernel(all, [](T* const* data, int64_t i) { return prior_terms(data[N][i], data[N + 1][i]); });
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
          alignas(64) T exp_rho[kVectorBlock];
          exp_minus_abs_block(r, length, exp_rho);
          for (int64_t i = 0; i < length; ++i)
            w[i] = sample(m[i], sigma_from(r[i], exp_rho[i]), e[i]);
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
          alignas(64) T exp_rho[kVectorBlock];
          exp_minus_abs_block(r, length, exp_rho);
          for (int64_t i = 0; i < length; ++i)
            out[i] = sample_grad_rho(g[i], e[i], math::sigmoid_from(r[i], exp_rho[i]));
        });
      });
    });
  });
}

void CpuBackend::gaussian_kl(const Tensor& out, const Tensor& mu, const Tensor& rho,
                             const Tensor& prior_mu, const Tensor& prior_sigma) {
  dispatch_floating(mu.dtype(), "gaussian_kl", [&](auto tag) {
    using T = decltype(tag);
    // One partial sum per fixed chunk, added in chunk order (Note [Deterministic chunks]); each
    // block's terms are summed in float64.
    const int64_t chunks = (mu.numel() + kElementwiseGrain - 1) / kElementwiseGrain;
    SmallVector<double, 8> partial(static_cast<size_t>(chunks), 0.0);  // no malloc when small
    with_prior<T>(
        std::array{&mu, &rho}, prior_mu, prior_sigma, [&](const auto& operands, const auto& prior) {
          for_each_block<T, 0>(operands, [&](int64_t chunk, T* const* data, int64_t length) {
            const T* __restrict m = data[0], * __restrict r = data[1];
            alignas(64) T exp_rho[kVectorBlock], sigma[kVectorBlock], terms[kVectorBlock];
            sigma_block(r, length, exp_rho, sigma);
            for (int64_t i = 0; i < length; ++i) terms[i] = kl(m[i], sigma[i], prior(data, i));
            partial[static_cast<size_t>(chunk)] += sum_in_double(terms, length);
          });
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
    with_prior<T>(std::array{&grad_mu, &grad_rho, &mu, &rho}, prior_mu, prior_sigma,
                  [&](const auto& operands, const auto& prior) {
                    for_each_block<T, 2>(operands, [&](int64_t, T* const* data, int64_t length) {
                      T* __restrict out_mu = data[0], * __restrict out_rho = data[1];
                      const T* __restrict m = data[2], * __restrict r = data[3];
                      for (int64_t i = 0; i < length; ++i)
                        out_mu[i] = kl_grad_mu(g, m[i], prior(data, i));
                      alignas(64) T exp_rho[kVectorBlock];
                      exp_minus_abs_block(r, length, exp_rho);
                      for (int64_t i = 0; i < length; ++i) {
                        out_rho[i] =
                            kl_grad_rho(g, sigma_from(r[i], exp_rho[i]),
                                        math::sigmoid_from(r[i], exp_rho[i]), prior(data, i));
                      }
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
    with_prior<T>(
        std::array{&grad_mu, &grad_rho, &grad, &mu, &rho, &eps}, prior_mu, prior_sigma,
        [&](const auto& operands, const auto& prior) {
          for_each_block<T, 2>(operands, [&](int64_t, T* const* data, int64_t length) {
            T* __restrict out_mu = data[0], * __restrict out_rho = data[1];
            const T* __restrict up = data[2], * __restrict m = data[3], * __restrict r = data[4];
            const T* __restrict e = data[5];
            // The sample's terms as gaussian_sample_backward computes them (its gradient for mu
            // is the upstream one), the KL's as gaussian_kl_backward does, and their sums: the
            // same bits as the two kernels apart and the engine's sums.
            for (int64_t i = 0; i < length; ++i)
              out_mu[i] = up[i] + kl_grad_mu(g, m[i], prior(data, i));
            alignas(64) T exp_rho[kVectorBlock];
            exp_minus_abs_block(r, length, exp_rho);
            for (int64_t i = 0; i < length; ++i) {
              const T sigmoid = math::sigmoid_from(r[i], exp_rho[i]);
              out_rho[i] = sample_grad_rho(up[i], e[i], sigmoid) +
                           kl_grad_rho(g, sigma_from(r[i], exp_rho[i]), sigmoid, prior(data, i));
            }
          });
        });
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
