// Random fills on the CPU from Philox blocks (the layout is described in random.h).
//
// The blocks of a fill form one stream of 32-bit words: block k holds words 4k..4k+3. Value i uses
//   float32 uniform: word i              float64 uniform, randint: words 2i, 2i+1
//   float32 normal:  words 2j, 2j+1 give the Box-Muller pair j = values 2j and 2j+1
//   float64 normal:  words 4j..4j+3 give the pair j
// Each chunk first expands its blocks into words, then transforms them with Eigen's vectorized
// log, sqrt, sin and cos.

#include <Eigen/Core>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <algorithm>
#include <cmath>

#include "bg/core/random.h"
#include "bg/core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "cpu/strided_loop.h"

namespace bg::cpu::BG_CPU_ISA {

namespace {

constexpr double kTwoPi = 6.283185307179586;

// Floats are computed for whole groups of this many values (pairs, for normal draws), so that every
// value takes Eigen's vectorized path: the scalar path an array's tail takes rounds differently
// (its log, sin and cos are other functions), and a value would depend on where its fill ends.
constexpr int64_t kGroup = 16;  // the widest packet: 16 floats (AVX-512)

int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// A fill is transformed in blocks of at most kVectorBlock values (CpuBackend::random): the words
// and temporaries of a block live on the stack, so a fill allocates nothing. A block takes at most
// kMaxWords words (two per value, rounded up to whole groups).
constexpr int64_t kMaxWords = 2 * (kVectorBlock + kGroup);

template <typename T>
using Array = Eigen::Array<T, Eigen::Dynamic, 1, Eigen::ColMajor, kMaxWords / 2, 1>;

// The words of one block: at most kMaxWords.
struct Words {
  alignas(64) uint32_t data[kMaxWords];
  uint32_t operator[](size_t i) const { return data[i]; }
};

#if defined(__AVX512F__)
// Sixteen Philox blocks at once (counters first .. first + 15, high counter words 0), written as
// sixteen consecutive groups of four words: the same numbers as philox4x32, per lane. A 32 x 32 ->
// 64-bit product exists only for the even lanes of a register, so each multiply runs twice (even
// lanes, then odd lanes shifted down) and the halves are blended back.
void philox16(uint64_t first, uint64_t seed, uint32_t* out) {
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i low =
      _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first))), lane);
  // The low word wraps when first + lane crosses 2^32: carry into the high word.
  const __mmask16 carry = _mm512_cmplt_epu32_mask(
      low, _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first))));
  __m512i c0 = low;
  __m512i c1 =
      _mm512_mask_add_epi32(_mm512_set1_epi32(static_cast<int>(first >> 32)), carry,
                            _mm512_set1_epi32(static_cast<int>(first >> 32)), _mm512_set1_epi32(1));
  __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(0xCD9E8D57u));
  auto mulhilo = [](__m512i a, __m512i m, __m512i& hi, __m512i& lo) {
    const __m512i even = _mm512_mul_epu32(a, m);
    const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
    lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
  };
  for (int round = 0; round < 10; ++round) {
    __m512i hi0, lo0, hi1, lo1;
    mulhilo(c0, m0, hi0, lo0);
    mulhilo(c2, m1, hi1, lo1);
    const __m512i n0 =
        _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32(static_cast<int>(k0)));
    const __m512i n2 =
        _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32(static_cast<int>(k1)));
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  alignas(64) uint32_t words[4][16];
  _mm512_store_si512(words[0], c0);
  _mm512_store_si512(words[1], c1);
  _mm512_store_si512(words[2], c2);
  _mm512_store_si512(words[3], c3);
  for (int b = 0; b < 16; ++b) {
    for (int k = 0; k < 4; ++k) out[4 * b + k] = words[k][b];
  }
}
#endif

// The words of the stream from word `first` (a multiple of 4), `count` of them (at most
// kMaxWords), into `out`.
void words(uint64_t seed, uint64_t offset, int64_t first, int64_t count, Words& out) {
  const uint64_t first_block = offset + static_cast<uint64_t>(first / 4);
  const auto blocks = static_cast<size_t>((count + 3) / 4);
  size_t b = 0;
#if defined(__AVX512F__)
  for (; b + 16 <= blocks; b += 16) philox16(first_block + b, seed, out.data + 4 * b);
#endif
  for (; b < blocks; ++b) {
    const auto block = philox4x32(first_block + b, seed);
    for (int k = 0; k < 4; ++k) out.data[4 * b + k] = block[k];
  }
}

// Uniform [0, 1) from 24 bits (float32) or 53 bits (float64): every value exactly representable.
template <typename T>
Array<T> unit(const Words& w, int64_t count, int64_t stride, int64_t start) {
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
  const bool uniform = op == RandomOp::Uniform || op == RandomOp::Bernoulli;
  const int64_t computed = op == RandomOp::Randint ? n
                           : uniform               ? round_up(n, kGroup)
                                                   : 2 * round_up((n + 1) / 2, kGroup);
  Words w;
  words(seed, offset, begin * words_per_value, computed * words_per_value, w);
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
    if (op == RandomOp::Bernoulli) {
      const Array<T> u = unit<T>(w, computed, words_per_value, 0);
      const T probability = T(a), value = T(b);
      for (int64_t i = 0; i < n; ++i) out[i] = u[i] < probability ? value : T(0);
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
    const int64_t whole_pairs = n / 2;
    for (int64_t j = 0; j < whole_pairs; ++j) {
      out[2 * j] = z0[j];
      out[2 * j + 1] = z1[j];
    }
    if (n % 2 == 1) out[n - 1] = z0[whole_pairs];
  }
}

}  // namespace

void CpuBackend::random(RandomOp op, const Tensor& out, uint64_t seed, uint64_t offset, double a,
                        double b) {
  auto fill = [&](auto tag) {
    using T = decltype(tag);
    T* data = static_cast<T*>(out.impl()->data());
    // Chunks and their blocks start at multiples of kVectorBlock, which keeps them on block (and
    // pair, and group) boundaries; blocks keep the temporaries small.
    parallel_for(out.numel(), kElementwiseGrain, [&](int64_t begin, int64_t end) {
      for_blocks(end - begin, [&](int64_t i, int64_t length) {
        fill_chunk<T>(op, data + begin + i, begin + i, length, seed, offset, a, b);
      });
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

}  // namespace bg::cpu::BG_CPU_ISA
