// Fused optimizer updates on the CPU: one loop over the parameter, its gradient and its state.
//
// Each element is updated by the formula of PyTorch 1.13's single-tensor optimizer, in the order
// its Tensor ops run (a.add(b, alpha) is a + alpha * b; addcmul(t1, t2, value) is a + value * t1 *
// t2; addcdiv likewise with a division), in the parameter's dtype, with the hyperparameters rounded
// to that dtype as a number operand of a Tensor op is. This file is compiled without fused
// multiply-add contraction (core/CMakeLists.txt), so the result has the bits of that chain of ops.

#include <array>
#include <cmath>
#include <type_traits>
#include <utility>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

// Cheap per element, but several times the work of one binary op (square roots, divisions).
constexpr int64_t kUpdateGrain = kElementwiseGrain / 4;

// A pointer to an operand of a contiguous run, restrict-qualified: the frontend has checked that
// the tensors an update writes share memory with no other operand (a stand-in, see or_param, is
// never accessed), and knowing it lets the compiler vectorize without runtime overlap checks.
template <typename T, size_t>
using RunPointer = T* __restrict;

// Calls update on elements [begin, end) of contiguous operands. `update` is a private copy (which
// holds its constants by value), so the compiler knows that the stores cannot change them and
// keeps them in registers.
template <typename T, typename Update, size_t... K>
void update_run(const Update update, int64_t begin, int64_t end, std::index_sequence<K...>,
                RunPointer<T, K>... data) {
  for (int64_t i = begin; i < end; ++i) update(data[i]...);
}

// Calls update(e0, e1, ...) with references to the matching elements of same-sized operands
// (operand 0 is the parameter). Elements are independent, so any chunking gives the same bits.
template <typename T, size_t N, typename Update>
void for_each_element(const std::array<const Tensor*, N>& operands, const Update& update) {
  bool contiguous = true;
  for (const Tensor* t : operands) contiguous = contiguous && t->is_contiguous();
  if (contiguous) {
    std::array<T*, N> base;
    for (size_t k = 0; k < N; ++k) base[k] = static_cast<T*>(operands[k]->impl()->data());
    parallel_for(operands[0]->numel(), kUpdateGrain, [&](int64_t begin, int64_t end) {
      [&]<size_t... K>(std::index_sequence<K...> indices) {
        update_run<T>(update, begin, end, indices, base[K]...);
      }
      (std::make_index_sequence<N>{});
    });
    return;
  }
  StridedLoop<static_cast<int>(N)> loop(operands);
  parallel_for(loop.numel(), kUpdateGrain, [&](int64_t begin, int64_t end) {
    loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
      [&]<size_t... K>(std::index_sequence<K...>) {
        for (int64_t i = 0; i < n; ++i) update(*reinterpret_cast<T*>(p[K] + i * s[K])...);
      }
      (std::make_index_sequence<N>{});
    });
  });
}

// Operands a step leaves unused are undefined; the parameter stands in for them in the loop so
// every variant walks the same number of operands. The update never touches a stand-in.
const Tensor* or_param(const Tensor& optional, const Tensor& param) {
  return optional.defined() ? &optional : &param;
}

// Calls fn(std::bool_constant<flags>...): the options that add steps to an update become
// compile-time constants, so that each variant's loop is free of branches and vectorizes.
template <typename Fn>
void with_flags(const Fn& fn) {
  fn();
}
template <typename Fn, typename... Rest>
void with_flags(const Fn& fn, bool first, Rest... rest) {
  if (first) {
    with_flags([&](auto... tail) { fn(std::true_type{}, tail...); }, rest...);
  } else {
    with_flags([&](auto... tail) { fn(std::false_type{}, tail...); }, rest...);
  }
}

// maximize negates the gradient: a multiplication by -1 or 1, which is exact and needs no branch.
template <typename T>
T gradient_sign(bool maximize) {
  return maximize ? T(-1) : T(1);
}

// torch.maximum: NaN wins. Written without branches, so that it vectorizes.
template <typename T>
T maximum(T a, T b) {
  const bool nan = static_cast<int>(std::isnan(a)) | static_cast<int>(std::isnan(b));
  return nan ? a + b : (a > b ? a : b);
}

}  // namespace

void CpuBackend::sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                            const fused::SgdHyper& h) {
  dispatch_floating(param.dtype(), "sgd_step", [&](auto tag) {
    using T = decltype(tag);
    const T sign = gradient_sign<T>(h.maximize), weight_decay = static_cast<T>(h.weight_decay);
    const T momentum = static_cast<T>(h.momentum), damped = static_cast<T>(1.0 - h.dampening);
    const T neg_lr = static_cast<T>(-h.lr);
    with_flags(
        [&](auto decay, auto use_momentum, auto init_buffer, auto nesterov) {
          for_each_element<T, 3>({&param, &grad, or_param(momentum_buffer, param)},
                                 [=](T& p, T g, T& buf) {
                                   T d = g * sign;
                                   if constexpr (decay) d = d + weight_decay * p;
                                   if constexpr (use_momentum) {
                                     buf = init_buffer ? d : buf * momentum + damped * d;
                                     d = nesterov ? d + momentum * buf : buf;
                                   }
                                   p = p + neg_lr * d;
                                 });
        },
        h.weight_decay != 0.0, h.momentum != 0.0, h.init_momentum_buffer, h.nesterov);
  });
}

void CpuBackend::adam_update(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                             const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq,
                             const fused::AdamHyper& h) {
  dispatch_floating(param.dtype(), "adam_step", [&](auto tag) {
    using T = decltype(tag);
    const T sign = gradient_sign<T>(h.maximize), weight_decay = static_cast<T>(h.weight_decay);
    // AdamW scales the parameter first; for Adam the factor 1 leaves it exactly as it is.
    const T decay = h.decoupled_weight_decay ? static_cast<T>(1.0 - h.lr * h.weight_decay) : T(1);
    const T beta1 = static_cast<T>(h.beta1), beta2 = static_cast<T>(h.beta2);
    const T one_minus_beta1 = static_cast<T>(1.0 - h.beta1);
    const T one_minus_beta2 = static_cast<T>(1.0 - h.beta2);
    const T bias_correction2_sqrt = static_cast<T>(h.bias_correction2_sqrt());
    const T eps = static_cast<T>(h.eps), neg_step_size = static_cast<T>(-h.step_size());
    with_flags(
        [&](auto coupled_decay, auto amsgrad) {
          for_each_element<T, 5>(
              {&param, &grad, &exp_avg, &exp_avg_sq, or_param(max_exp_avg_sq, param)},
              [=](T& p, T g, T& m, T& v, T& v_max) {
                g = g * sign;
                p = p * decay;
                if constexpr (coupled_decay) g = g + weight_decay * p;
                m = m * beta1 + one_minus_beta1 * g;
                v = v * beta2 + one_minus_beta2 * g * g;
                T second_moment = v;
                if constexpr (amsgrad) second_moment = v_max = maximum(v_max, v);
                const T denom = std::sqrt(second_moment) / bias_correction2_sqrt + eps;
                p = p + neg_step_size * m / denom;
              });
        },
        !h.decoupled_weight_decay && h.weight_decay != 0.0, h.amsgrad);
  });
}

void CpuBackend::rmsprop_update(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                                const Tensor& momentum_buffer, const Tensor& grad_avg,
                                const fused::RmspropHyper& h) {
  dispatch_floating(param.dtype(), "rmsprop_step", [&](auto tag) {
    using T = decltype(tag);
    const T sign = gradient_sign<T>(h.maximize), weight_decay = static_cast<T>(h.weight_decay);
    const T alpha = static_cast<T>(h.alpha), one_minus_alpha = static_cast<T>(1.0 - h.alpha);
    const T eps = static_cast<T>(h.eps), momentum = static_cast<T>(h.momentum);
    const T neg_lr = static_cast<T>(-h.lr);
    with_flags(
        [&](auto decay, auto use_momentum, auto centered) {
          for_each_element<T, 5>({&param, &grad, &square_avg, or_param(momentum_buffer, param),
                                  or_param(grad_avg, param)},
                                 [=](T& p, T g, T& square, T& buf, T& average) {
                                   g = g * sign;
                                   if constexpr (decay) g = g + weight_decay * p;
                                   square = square * alpha + one_minus_alpha * g * g;
                                   T variance = square;
                                   if constexpr (centered) {
                                     average = average * alpha + one_minus_alpha * g;
                                     variance = square + -average * average;
                                   }
                                   const T avg = std::sqrt(variance) + eps;
                                   if constexpr (use_momentum) {
                                     buf = buf * momentum + g / avg;
                                     p = p + neg_lr * buf;
                                   } else {
                                     p = p + neg_lr * g / avg;
                                   }
                                 });
        },
        h.weight_decay != 0.0, h.momentum > 0.0, h.centered);
  });
}

void CpuBackend::adagrad_update(const Tensor& param, const Tensor& grad, const Tensor& sum,
                                const fused::AdagradHyper& h) {
  dispatch_floating(param.dtype(), "adagrad_step", [&](auto tag) {
    using T = decltype(tag);
    const T sign = gradient_sign<T>(h.maximize), weight_decay = static_cast<T>(h.weight_decay);
    const T eps = static_cast<T>(h.eps), neg_lr = static_cast<T>(-h.decayed_lr());
    with_flags(
        [&](auto decay) {
          for_each_element<T, 3>({&param, &grad, &sum}, [=](T& p, T g, T& s) {
            g = g * sign;
            if constexpr (decay) g = g + weight_decay * p;
            s = s + g * g;
            const T root = std::sqrt(s) + eps;
            p = p + neg_lr * g / root;
          });
        },
        h.weight_decay != 0.0);
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
