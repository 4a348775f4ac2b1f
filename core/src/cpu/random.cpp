// Random fills on the CPU from Philox blocks (the layout is described in random.h).
//
// The blocks of a fill form one stream of 32-bit words: block k holds words 4k..4k+3. Value i uses
//   float32 uniform: word i              float64 uniform, randint: words 2i, 2i+1
//   float32 normal:  words 2j, 2j+1 give the Box-Muller pair j = values 2j and 2j+1
//   float64 normal:  words 4j..4j+3 give the pair j
// Each chunk first expands its blocks into words, then transforms them with Eigen's vectorized
// log, sqrt, sin and cos.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <vector>

#include "bg/core/random.h"
#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace bg::cpu {

namespace {

constexpr double kTwoPi = 6.283185307179586;

// Floats are computed for whole groups of this many values (pairs, for normal draws), so that every
// value takes Eigen's vectorized path: the scalar path an array's tail takes rounds differently
// (its log, sin and cos are other functions), and a value would depend on where its fill ends.
constexpr int64_t kGroup = 16;  // the widest packet: 16 floats (AVX-512)

int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

template <typename T>
using Array = Eigen::Array<T, Eigen::Dynamic, 1>;

// The words of the stream from word `first` (a multiple of 4), `count` of them.
std::vector<uint32_t> words(uint64_t seed, uint64_t offset, int64_t first, int64_t count) {
  std::vector<uint32_t> out(static_cast<size_t>((count + 3) / 4 * 4));
  for (size_t q = 0; q < out.size(); q += 4) {
    const auto block = philox4x32(offset + static_cast<uint64_t>(first / 4) + q / 4, seed);
    for (int k = 0; k < 4; ++k) out[q + k] = block[k];
  }
  return out;
}

// Uniform [0, 1) from 24 bits (float32) or 53 bits (float64): every value exactly representable.
template <typename T>
Array<T> unit(const std::vector<uint32_t>& w, int64_t count, int64_t stride, int64_t start) {
  Array<T> u(count);
  for (int64_t i = 0; i < count; ++i) {
    const size_t q = static_cast<size_t>(start + i * stride);
    if constexpr (std::is_same_v<T, float>) {
      u[i] = static_cast<float>(w[q] >> 8) * 0x1.0p-24f;
    } else {
      u[i] = static_cast<double>(((uint64_t{w[q]} << 32) | w[q + 1]) >> 11) * 0x1.0p-53;
    }
  }
  return u;
}

template <typename T>
void fill_chunk(RandomOp op, T* out, int64_t begin, int64_t n, uint64_t seed, uint64_t offset,
                double a, double b) {
  const int64_t words_per_value = std::is_same_v<T, float> && op != RandomOp::Randint ? 1 : 2;
  const int64_t computed = op == RandomOp::Randint   ? n
                           : op == RandomOp::Uniform ? round_up(n, kGroup)
                                                     : 2 * round_up((n + 1) / 2, kGroup);
  const std::vector<uint32_t> w =
      words(seed, offset, begin * words_per_value, computed * words_per_value);
  if (op == RandomOp::Randint) {
    // Lemire's multiply-shift maps 64 random bits onto [0, range).
    const auto low = static_cast<int64_t>(a);
    const auto range = static_cast<uint64_t>(static_cast<int64_t>(b) - low);
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t bits = (uint64_t{w[2 * i]} << 32) | w[2 * i + 1];
      const auto step = static_cast<uint64_t>((static_cast<unsigned __int128>(bits) * range) >> 64);
      out[i] = static_cast<T>(low + static_cast<int64_t>(step));
    }
    return;
  }
  if constexpr (std::is_floating_point_v<T>) {
    if (op == RandomOp::Uniform) {
      const Array<T> u = T(a) + T(b - a) * unit<T>(w, computed, words_per_value, 0);
      std::copy_n(u.data(), n, out);
      return;
    }
    // Box-Muller: pair j -> (r cos(2 pi u2), r sin(2 pi u2)), u1 in (0, 1] keeps the log finite.
    const int64_t pairs = computed / 2;
    const int64_t words_per_pair = 2 * words_per_value;
    const Array<T> u1 = T(1) - unit<T>(w, pairs, words_per_pair, 0);
    const Array<T> angle = T(kTwoPi) * unit<T>(w, pairs, words_per_pair, words_per_value);
    const Array<T> r = (T(-2) * u1.log()).sqrt();
    const Array<T> z0 = T(a) + T(b) * r * angle.cos();
    const Array<T> z1 = T(a) + T(b) * r * angle.sin();
    for (int64_t j = 0; 2 * j < n; ++j) {
      out[2 * j] = z0[j];
      if (2 * j + 1 < n) out[2 * j + 1] = z1[j];
    }
  }
}

}  // namespace

void CpuBackend::random(RandomOp op, const Tensor& out, uint64_t seed, uint64_t offset, double a,
                        double b) {
  auto fill = [&](auto tag) {
    using T = decltype(tag);
    T* data = static_cast<T*>(out.impl()->data());
    // Chunks start at multiples of the grain, which keeps them on block (and pair) boundaries.
    parallel_for(out.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      fill_chunk<T>(op, data + begin, begin, end - begin, seed, offset, a, b);
    });
  };
  switch (out.dtype()) {
    case Dtype::Float32:
      return fill(float{});
    case Dtype::Float64:
      return fill(double{});
    case Dtype::Int64:
      if (op == RandomOp::Randint) return fill(int64_t{});
      break;
    case Dtype::Bool:
      break;
  }
  throw Error(detail::concat("random: cannot fill a ", dtype_name(out.dtype()), " tensor with ",
                             op == RandomOp::Randint ? "integers" : "floating-point draws"));
}

}  // namespace bg::cpu
