// fill and copy (with dtype conversion) on the CPU.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

// static_cast, except that a float that does not fit an int64 (NaN, +-inf, huge) becomes INT64_MIN,
// as x86's conversion instruction gives, instead of undefined behaviour.
template <typename To, typename From>
To convert(From v) {
  if constexpr (std::is_floating_point_v<From> && std::is_same_v<To, int64_t>) {
    constexpr From limit = static_cast<From>(9223372036854775808.0);  // 2^63
    if (!(v >= -limit && v < limit)) return std::numeric_limits<int64_t>::min();
  }
  return static_cast<To>(v);
}

}  // namespace

void CpuBackend::fill(const Tensor& out, const Scalar& value) {
  dispatch_all(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = value.is_floating() ? convert<T>(value.to<double>()) : value.to<T>();
    StridedLoop<1> loop({&out});
    parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
        if (s[0] == sizeof(T)) {  // a contiguous run: a loop the compiler vectorizes
          std::fill_n(reinterpret_cast<T*>(p[0]), n, v);
          return;
        }
        for (int64_t i = 0; i < n; ++i) *reinterpret_cast<T*>(p[0] + i * s[0]) = v;
      });
    });
  });
}

void CpuBackend::copy(const Tensor& dst, const Tensor& src) {
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    const auto bytes = static_cast<int64_t>(element_size(dst.dtype()));
    char* to = static_cast<char*>(dst.impl()->data());
    const char* from = static_cast<const char*>(src.impl()->data());
    parallel_for(dst.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      std::memcpy(to + begin * bytes, from + begin * bytes,
                  static_cast<size_t>((end - begin) * bytes));
    });
    return;
  }
  dispatch_all(dst.dtype(), [&](auto to_tag) {
    dispatch_all(src.dtype(), [&](auto from_tag) {
      using To = decltype(to_tag);
      using From = decltype(from_tag);
      StridedLoop<2> loop({&dst, &src});
      parallel_for(loop.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
        loop.run(begin, end, [&](char* const* p, int64_t n, const int64_t* s) {
          if (s[0] == sizeof(To) && s[1] == sizeof(From)) {
            // Contiguous runs (a permuted copy's rows, a cast): unit strides let the compiler
            // vectorize; the strided loop below would copy one element at a time.
            To* to = reinterpret_cast<To*>(p[0]);
            const From* from = reinterpret_cast<const From*>(p[1]);
            for (int64_t i = 0; i < n; ++i) to[i] = convert<To>(from[i]);
            return;
          }
          for (int64_t i = 0; i < n; ++i) {
            *reinterpret_cast<To*>(p[0] + i * s[0]) =
                convert<To>(*reinterpret_cast<const From*>(p[1] + i * s[1]));
          }
        });
      });
    });
  });
}

}  // namespace bg::cpu::BG_CPU_ISA
