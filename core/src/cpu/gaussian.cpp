// Fused Gaussian variational kernels on the CPU (fused_gaussian.h).
//
// Each kernel walks its operands once. Contiguous runs use Eigen's vectorized exp and log1p; the
// prior's tensors are often 0-d (broadcast with zero strides), which the runs handle as constants.

#include <Eigen/Core>
#include <cmath>
#include <vector>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"
#include "cpu/vector_math.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

template <typename T>
using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
template <typename T>
using ConstMap = Eigen::Map<const Array<T>>;
template <typename T>
using Map = Eigen::Map<Array<T>>;

// softplus with PyTorch's default beta = 1 and threshold = 20, as bg::softplus computes it.
template <typename T>
constexpr Softplus<T> kSoftplus{T(1), T(20)};

template <typename T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

template <typename T>
const T& at(char* const* p, const int64_t* s, int k, int64_t i) {
  return *reinterpret_cast<const T*>(p[k] + i * s[k]);
}

// Calls `body` with the prior's two operands (indices pm, ps of the run) as Eigen expressions of
// length n: constants when they are broadcast (stride 0), maps when contiguous. Returns false for
// other layouts, which the caller handles element by element.
template <typename T, typename Body>
bool with_prior(char* const* p, const int64_t* s, int pm, int ps, int64_t n, const Body& body) {
  constexpr auto step = static_cast<int64_t>(sizeof(T));
  if (s[pm] == 0 && s[ps] == 0) {
    body(Array<T>::Constant(n, at<T>(p, s, pm, 0)), Array<T>::Constant(n, at<T>(p, s, ps, 0)));
    return true;
  }
  if (s[pm] == step && s[ps] == step) {
    body(ConstMap<T>(reinterpret_cast<const T*>(p[pm]), n),
         ConstMap<T>(reinterpret_cast<const T*>(p[ps]), n));
    return true;
  }
  return false;
}

}  // namespace

void CpuBackend::gaussian_sample(const Tensor& out, const Tensor& mu, const Tensor& rho,
                                 const Tensor& eps) {
  dispatch_floating(out.dtype(), "gaussian_sample", [&](auto tag) {
    using T = decltype(tag);
    StridedLoop<4> loop({&out, &mu, &rho, &eps});
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        if (all_unit<T, T, T, T>(s)) {
          T* out_data = reinterpret_cast<T*>(p[0]);
          const T *m = reinterpret_cast<const T*>(p[1]), *r = reinterpret_cast<const T*>(p[2]),
                  *e = reinterpret_cast<const T*>(p[3]);
          for_blocks(n, [&](int64_t i, int64_t len) {
            Map<T>(out_data + i, len) =
                ConstMap<T>(m + i, len) +
                kSoftplus<T>.array(ConstMap<T>(r + i, len)) * ConstMap<T>(e + i, len);
          });
          return;
        }
        for (int64_t i = 0; i < n; ++i) {
          *reinterpret_cast<T*>(p[0] + i * s[0]) =
              at<T>(p, s, 1, i) + kSoftplus<T>(at<T>(p, s, 2, i)) * at<T>(p, s, 3, i);
        }
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
        // d softplus(rho) / d rho = sigmoid(rho)
        if (all_unit<T, T, T, T>(s)) {
          Map<T>(reinterpret_cast<T*>(p[0]), n) =
              ConstMap<T>(reinterpret_cast<const T*>(p[1]), n) *
              ConstMap<T>(reinterpret_cast<const T*>(p[3]), n) *
              ConstMap<T>(reinterpret_cast<const T*>(p[2]), n).logistic();
          return;
        }
        for (int64_t i = 0; i < n; ++i) {
          *reinterpret_cast<T*>(p[0] + i * s[0]) =
              at<T>(p, s, 1, i) * at<T>(p, s, 3, i) * sigmoid(at<T>(p, s, 2, i));
        }
      });
    });
  });
}

void CpuBackend::gaussian_kl(const Tensor& out, const Tensor& mu, const Tensor& rho,
                             const Tensor& prior_mu, const Tensor& prior_sigma) {
  dispatch_floating(mu.dtype(), "gaussian_kl", [&](auto tag) {
    using T = decltype(tag);
    StridedLoop<4> loop({&mu, &rho, &prior_mu, &prior_sigma});
    // One partial sum per fixed chunk, added in chunk order (Note [Deterministic chunks]).
    const int64_t chunks = (loop.numel() + kElementwiseGrain - 1) / kElementwiseGrain;
    std::vector<double> partial(static_cast<size_t>(chunks), 0.0);
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      double sum = 0;
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        constexpr auto step = static_cast<int64_t>(sizeof(T));
        const bool unit = s[0] == step && s[1] == step;
        bool fused = unit;
        for_blocks(unit ? n : 0, [&](int64_t i, int64_t len) {
          char* const q[4] = {p[0] + i * s[0], p[1] + i * s[1], p[2] + i * s[2], p[3] + i * s[3]};
          fused = with_prior<T>(q, s, 2, 3, len, [&](const auto& pm, const auto& ps) {
            const Array<T> sigma =
                kSoftplus<T>.array(ConstMap<T>(reinterpret_cast<const T*>(q[1]), len));
            const Array<T> d = ConstMap<T>(reinterpret_cast<const T*>(q[0]), len) - pm;
            // Evaluated in T first: Eigen 3.4 cannot vectorize an expression with a cast in it.
            const Array<T> kl =
                (ps / sigma).log() + (sigma.square() + d.square()) / (ps.square() * T(2)) - T(0.5);
            sum += kl.template cast<double>().sum();
          });
        });
        if (fused) return;
        for (int64_t i = 0; i < n; ++i) {
          const T sigma = kSoftplus<T>(at<T>(p, s, 1, i));
          const T d = at<T>(p, s, 0, i) - at<T>(p, s, 2, i), ps = at<T>(p, s, 3, i);
          sum += static_cast<double>(std::log(ps / sigma) +
                                     (sigma * sigma + d * d) / (ps * ps * T(2)) - T(0.5));
        }
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
        // d/dmu = (mu - pm) / ps^2;  d/drho = (sigma / ps^2 - 1 / sigma) sigmoid(rho)
        constexpr auto step = static_cast<int64_t>(sizeof(T));
        const bool unit = s[0] == step && s[1] == step && s[2] == step && s[3] == step;
        bool fused = unit;
        for_blocks(unit ? n : 0, [&](int64_t i, int64_t len) {
          char* const q[6] = {p[0] + i * s[0], p[1] + i * s[1], p[2] + i * s[2],
                              p[3] + i * s[3], p[4] + i * s[4], p[5] + i * s[5]};
          fused = with_prior<T>(q, s, 4, 5, len, [&](const auto& pm, const auto& ps) {
            const ConstMap<T> m(reinterpret_cast<const T*>(q[2]), len),
                r(reinterpret_cast<const T*>(q[3]), len);
            const Array<T> sigma = kSoftplus<T>.array(r);
            const Array<T> inv_var = ps.square().inverse();
            Map<T>(reinterpret_cast<T*>(q[0]), len) = g * (m - pm) * inv_var;
            Map<T>(reinterpret_cast<T*>(q[1]), len) =
                g * (sigma * inv_var - sigma.inverse()) * r.logistic();
          });
        });
        if (fused) return;
        for (int64_t i = 0; i < n; ++i) {
          const T r = at<T>(p, s, 3, i), sigma = kSoftplus<T>(r), ps = at<T>(p, s, 5, i);
          *reinterpret_cast<T*>(p[0] + i * s[0]) =
              g * (at<T>(p, s, 2, i) - at<T>(p, s, 4, i)) / (ps * ps);
          *reinterpret_cast<T*>(p[1] + i * s[1]) =
              g * (sigma / (ps * ps) - T(1) / sigma) * sigmoid(r);
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
    StridedLoop<8> loop({&grad_mu, &grad_rho, &grad, &mu, &rho, &eps, &prior_mu, &prior_sigma});
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        // The sample's terms as gaussian_sample_backward computes them, the KL's as
        // gaussian_kl_backward does, and their sums.
        const bool unit = all_unit<T, T, T, T, T, T>(s);
        bool fused = unit;
        for_blocks(unit ? n : 0, [&](int64_t i, int64_t len) {
          char* q[8];
          for (int k = 0; k < 8; ++k) q[k] = p[k] + i * s[k];
          fused = with_prior<T>(q, s, 6, 7, len, [&](const auto& pm, const auto& ps) {
            const ConstMap<T> up(reinterpret_cast<const T*>(q[2]), len),
                m(reinterpret_cast<const T*>(q[3]), len), r(reinterpret_cast<const T*>(q[4]), len),
                e(reinterpret_cast<const T*>(q[5]), len);
            const Array<T> sigma = kSoftplus<T>.array(r);
            const Array<T> slope = r.logistic();  // d sigma / d rho
            const Array<T> inv_var = ps.square().inverse();
            Map<T>(reinterpret_cast<T*>(q[0]), len) = up + g * (m - pm) * inv_var;
            Map<T>(reinterpret_cast<T*>(q[1]), len) =
                up * e * slope + g * (sigma * inv_var - sigma.inverse()) * slope;
          });
        });
        if (fused) return;
        for (int64_t i = 0; i < n; ++i) {
          const T up = at<T>(p, s, 2, i), m = at<T>(p, s, 3, i), r = at<T>(p, s, 4, i),
                  e = at<T>(p, s, 5, i), ps = at<T>(p, s, 7, i);
          const T sigma = kSoftplus<T>(r), slope = sigmoid(r);
          *reinterpret_cast<T*>(p[0] + i * s[0]) = up + g * (m - at<T>(p, s, 6, i)) / (ps * ps);
          *reinterpret_cast<T*>(p[1] + i * s[1]) =
              up * e * slope + g * (sigma / (ps * ps) - T(1) / sigma) * slope;
        }
      });
    });
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
