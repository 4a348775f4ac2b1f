#pragma once
// Random numbers: a counter-based Philox-4x32-10 generator (Salmon et al., SC'11).
//
// A counter-based generator computes the n-th random block directly from (seed, n), with no state
// passed from one number to the next. So a tensor of N numbers is filled in parallel, each element
// computed from its own counter, and the result does not depend on the thread count (or device).
// The generator's state is just (seed, offset): each fill reserves the counters it uses by
// advancing the offset.
//
// Layout of one fill starting at counter `offset`: block k = offset + i / per_block gives four
// 32-bit words. float32 uniform uses one word per element (4 per block); float64 uniform two (2
// per block); normal numbers come in Box-Muller pairs (float32: 4 per block, float64: 2).

#include <array>
#include <cstdint>

#include "bg/core/api.h"
#include "bg/core/device.h"

#if defined(__CUDACC__)
#define BG_HOST_DEVICE __host__ __device__
#else
#define BG_HOST_DEVICE
#endif

BG_API_BEGIN

namespace bg {

/// Philox-4x32 with 10 rounds: four random 32-bit words for a 128-bit counter under a 64-bit key.
BG_HOST_DEVICE inline std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> c,
                                                         std::array<uint32_t, 2> k) {
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t{0xD2511F53u} * c[0];
    const uint64_t p1 = uint64_t{0xCD9E8D57u} * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
    k[0] += 0x9E3779B9u;  // the golden ratio and sqrt(3) - 1: Philox's key schedule
    k[1] += 0xBB67AE85u;
  }
  return c;
}

/// The block for counter `counter` (the high 64 bits of the counter are 0) under key `seed`.
BG_HOST_DEVICE inline std::array<uint32_t, 4> philox4x32(uint64_t counter, uint64_t seed) {
  return philox4x32({static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0u, 0u},
                    {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
}

/// The numbers a generator hands out are fixed by this state.
struct GeneratorState {
  uint64_t seed = 0;
  uint64_t offset = 0;
  bool operator==(const GeneratorState&) const = default;
};

/// A Philox stream: a seed and the next unused counter.
class Generator {
 public:
  explicit Generator(uint64_t seed = kDefaultSeed) : state_{seed, 0} {}

  /// Restarts the stream from `seed`.
  void manual_seed(uint64_t seed) { state_ = {seed, 0}; }
  uint64_t seed() const { return state_.seed; }

  /// Save and restore the position in the stream: restoring replays the same numbers.
  GeneratorState get_state() const { return state_; }
  void set_state(const GeneratorState& state) { state_ = state; }

  /// Reserves `blocks` Philox counters and returns the first.
  uint64_t reserve(uint64_t blocks) {
    const uint64_t first = state_.offset;
    state_.offset += blocks;
    return first;
  }

  static constexpr uint64_t kDefaultSeed = 67280421310721ULL;

 private:
  GeneratorState state_;
};

/// The generator factories and in-place random ops use when none is given.
Generator& default_generator(Device device = Device::cpu());

/// Seeds the default generator of every device.
void manual_seed(uint64_t seed);

}  // namespace bg

BG_API_END
