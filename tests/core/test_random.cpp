// Random numbers (random.h): the Philox-4x32-10 block function, the documented layout of fills,
// generator state and seeding, and the distributions of rand, randn, randint, uniform_, normal_
// and dropout_mask.

#include <cmath>
#include <cstdint>
#include <functional>
#include <numbers>
#include <vector>

#include "test_util.h"

using namespace bg;

namespace {

using Block = std::array<uint32_t, 4>;

// Draws per test for the statistics: several parallel chunks' worth.
constexpr int64_t kDraws = int64_t{1} << 17;

// `value` is within 5 standard errors of `expected`.
void check_near(double value, double expected, double standard_error) {
  INFO("value ", value, ", expected ", expected, " +- 5 x ", standard_error);
  CHECK(std::fabs(value - expected) <= 5 * standard_error);
}

double mean_of(const Tensor& t) { return t.to(kFloat64).mean().item<double>(); }
// Population variance (no Bessel correction).
double variance_of(const Tensor& t) { return t.to(kFloat64).var({}, 0).item<double>(); }
// The fraction of elements where `mask` is true.
double fraction(const Tensor& mask) {
  return static_cast<double>(mask.sum().item<int64_t>()) / static_cast<double>(mask.numel());
}

// Word `w` of the stream a fill starting at block `offset` reads (block w / 4, word w % 4).
uint32_t word(uint64_t seed, uint64_t offset, int64_t w) {
  return philox4x32(offset + static_cast<uint64_t>(w / 4), seed)[static_cast<size_t>(w % 4)];
}

// Uniform [0, 1) from the top 24 bits of one word (float32) or 53 bits of two (float64).
float unit_float(uint32_t w) { return static_cast<float>(w >> 8) * 0x1.0p-24f; }
double unit_double(uint32_t hi, uint32_t lo) {
  return static_cast<double>(((uint64_t{hi} << 32) | lo) >> 11) * 0x1.0p-53;
}

// Mean and variance of `t` agree with a distribution of that mean and variance, whose fourth
// central moment is `m4` (the variance of the sample variance is (m4 - var^2) / n).
void check_moments(const Tensor& t, double mean, double variance, double m4) {
  const auto n = static_cast<double>(t.numel());
  check_near(mean_of(t), mean, std::sqrt(variance / n));
  check_near(variance_of(t), variance, std::sqrt((m4 - variance * variance) / n));
}

}  // namespace

// ---- Philox -------------------------------------------------------------------------------------

TEST_CASE("random: Philox-4x32-10 matches Random123's known answers") {
  CHECK(philox4x32(Block{0, 0, 0, 0}, {0, 0}) ==
        Block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(
      philox4x32(Block{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}) ==
      Block{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(
      philox4x32(Block{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
      Block{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("random: the (counter, seed) form puts the low words first") {
  const uint64_t counter = 0x0123456789abcdefULL, seed = 0xfedcba9876543210ULL;
  CHECK(philox4x32(counter, seed) ==
        philox4x32(Block{0x89abcdef, 0x01234567, 0, 0}, {0x76543210, 0xfedcba98}));
  CHECK(philox4x32(0, 0) == Block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  // Neighbouring counters and seeds give unrelated blocks.
  CHECK(philox4x32(1, 0) != philox4x32(0, 0));
  CHECK(philox4x32(0, 1) != philox4x32(0, 0));
}

// ---- The layout of fills (random.h) -------------------------------------------------------------

TEST_CASE("random: uniform and randint values come from the documented words") {
  const uint64_t seed = 77;
  Generator g(seed);
  g.reserve(5);  // start the fills at block 5
  const Tensor f = rand({9}, kFloat32, &g);
  const Tensor d = rand({5}, kFloat64, &g);
  const Tensor i = randint(-10, 1000, {6}, {}, &g);
  // float32: one word per value, 4 per block, from block 5 (3 blocks).
  for (int64_t k = 0; k < 9; ++k) CHECK(f[k].item<float>() == unit_float(word(seed, 5, k)));
  // float64: two words per value, 2 per block, from block 8 (3 blocks).
  for (int64_t k = 0; k < 5; ++k) {
    CHECK(d[k].item<double>() == unit_double(word(seed, 8, 2 * k), word(seed, 8, 2 * k + 1)));
  }
  // randint: two words (64 bits) per value mapped onto the range by Lemire's multiply-shift.
  for (int64_t k = 0; k < 6; ++k) {
    const uint64_t bits = (uint64_t{word(seed, 11, 2 * k)} << 32) | word(seed, 11, 2 * k + 1);
    const auto step = static_cast<int64_t>((static_cast<unsigned __int128>(bits) * 1010) >> 64);
    CHECK(i[k].item<int64_t>() == -10 + step);
  }
  CHECK(g.get_state().offset == 5 + 3 + 3 + 3);
}

TEST_CASE("random: normal values are Box-Muller pairs of the documented words") {
  const uint64_t seed = 3;
  Generator g(seed);
  const Tensor f = randn({6}, kFloat32, &g);
  const Tensor d = randn({4}, kFloat64, &g);
  // float32 pair j: words 2j, 2j+1 (blocks 0-1); float64 pair j: words 4j..4j+3 (blocks 2-3).
  for (int64_t j = 0; j < 3; ++j) {
    const float u1 = 1.f - unit_float(word(seed, 0, 2 * j));
    const float angle =
        static_cast<float>(2 * std::numbers::pi) * unit_float(word(seed, 0, 2 * j + 1));
    const float r = std::sqrt(-2.f * std::log(u1));
    CHECK(f[2 * j].item<float>() == doctest::Approx(r * std::cos(angle)).epsilon(1e-5));
    CHECK(f[2 * j + 1].item<float>() == doctest::Approx(r * std::sin(angle)).epsilon(1e-5));
  }
  for (int64_t j = 0; j < 2; ++j) {
    const double u1 = 1 - unit_double(word(seed, 2, 4 * j), word(seed, 2, 4 * j + 1));
    const double angle =
        2 * std::numbers::pi * unit_double(word(seed, 2, 4 * j + 2), word(seed, 2, 4 * j + 3));
    const double r = std::sqrt(-2 * std::log(u1));
    CHECK(d[2 * j].item<double>() == doctest::Approx(r * std::cos(angle)).epsilon(1e-12));
    CHECK(d[2 * j + 1].item<double>() == doctest::Approx(r * std::sin(angle)).epsilon(1e-12));
  }
}

TEST_CASE("random: each fill reserves whole blocks") {
  Generator g(1);
  const auto offset_after = [&g](const std::function<void()>& draw) {
    const uint64_t before = g.get_state().offset;
    draw();
    return g.get_state().offset - before;
  };
  CHECK(offset_after([&] { rand({10}, kFloat32, &g); }) == 3);    // 4 per block
  CHECK(offset_after([&] { rand({10}, kFloat64, &g); }) == 5);    // 2 per block
  CHECK(offset_after([&] { randn({10}, kFloat32, &g); }) == 3);   // 4 per block
  CHECK(offset_after([&] { randn({9}, kFloat64, &g); }) == 5);    // 2 per block
  CHECK(offset_after([&] { randint(0, 5, {7}, {}, &g); }) == 4);  // 2 per block
  CHECK(offset_after([&] { rand({0}, kFloat32, &g); }) == 0);
  CHECK(offset_after([&] { zeros({2, 3}).uniform_(0, 1, &g); }) == 2);
}

TEST_CASE("random: consecutive fills continue the stream at the next block") {
  // A fill starts on a block boundary, so split draws equal one draw only when the first part
  // fills whole blocks; otherwise the rest of its last block is skipped.
  const auto draw = [](const std::vector<int64_t>& sizes, Dtype dtype) {
    Generator g(11);
    std::vector<Tensor> parts;
    for (int64_t n : sizes) parts.push_back(randn({n}, dtype, &g));
    return cat(parts);
  };
  CHECK(equal(draw({8, 8}, kFloat32), draw({16}, kFloat32)));
  CHECK(equal(draw({6, 4}, kFloat64), draw({10}, kFloat64)));
  // randn(10) then randn(10): the second starts at value 12 (block 3), not 10.
  const Tensor split = draw({10, 10}, kFloat32);
  const Tensor whole = draw({24}, kFloat32);
  CHECK_FALSE(equal(split, draw({20}, kFloat32)));
  CHECK(equal(split.slice(0, 0, 10), whole.slice(0, 0, 10)));
  CHECK(equal(split.slice(0, 10, 20), whole.slice(0, 12, 22)));
  // The same holds for uniform draws.
  Generator a(4), b(4);
  const Tensor first = rand({5}, kFloat64, &a), second = rand({5}, kFloat64, &a);
  const Tensor joined = rand({12}, kFloat64, &b);
  CHECK(equal(first, joined.slice(0, 0, 5)));
  CHECK(equal(second, joined.slice(0, 6, 11)));
}

TEST_CASE("random: a value does not depend on the size of its fill") {
  // Every fill below starts at block 0, so value i comes from the same words in each.
  const auto prefix_of_longer = [](const std::function<Tensor(int64_t, Generator&)>& draw) {
    Generator long_generator(8);
    const Tensor longer = draw(200, long_generator);
    for (int64_t n = 1; n <= 100; ++n) {
      Generator g(8);
      INFO("size ", n);
      CHECK(equal(draw(n, g), longer.slice(0, 0, n)));
    }
  };
  for (Dtype dtype : {kFloat32, kFloat64}) {
    prefix_of_longer([dtype](int64_t n, Generator& g) { return randn({n}, dtype, &g); });
    prefix_of_longer([dtype](int64_t n, Generator& g) { return rand({n}, dtype, &g); });
    prefix_of_longer(
        [dtype](int64_t n, Generator& g) { return empty({n}, dtype).uniform_(-0.3, 7.1, &g); });
    prefix_of_longer(
        [dtype](int64_t n, Generator& g) { return empty({n}, dtype).normal_(0.7, 3.3, &g); });
  }
}

TEST_CASE("random: odd sizes drop the second half of the last normal pair") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{3 * 32768 + 5}}) {
      Generator a(9), b(9);
      const Tensor odd = randn({n}, dtype, &a);
      const Tensor even = randn({n + 1}, dtype, &b);
      CHECK(equal(odd, even.slice(0, 0, n)));
    }
  }
}

// ---- Generators and seeding ---------------------------------------------------------------------

TEST_CASE("random: generators with the same seed agree, other seeds differ") {
  Generator a(123), b(123), c(124);
  const Tensor x = randn({100}, kFloat32, &a);
  CHECK(equal(x, randn({100}, kFloat32, &b)));
  CHECK_FALSE(equal(x, randn({100}, kFloat32, &c)));
  // Consecutive draws from one generator differ.
  CHECK_FALSE(equal(x, randn({100}, kFloat32, &a)));
  CHECK(a.seed() == 123);
  CHECK(Generator().seed() == Generator::kDefaultSeed);
  a.manual_seed(7);
  CHECK(a.get_state() == GeneratorState{7, 0});
}

TEST_CASE("random: restoring a generator's state replays the same numbers") {
  Generator g(5);
  rand({13}, kFloat32, &g);
  const GeneratorState saved = g.get_state();
  const Tensor u = rand({50}, kFloat64, &g);
  const Tensor n = randn({33}, kFloat32, &g);
  const Tensor i = randint(0, 100, {20}, {}, &g);
  g.set_state(saved);
  CHECK(equal(u, rand({50}, kFloat64, &g)));
  CHECK(equal(n, randn({33}, kFloat32, &g)));
  CHECK(equal(i, randint(0, 100, {20}, {}, &g)));
  // A fresh generator given the state replays them too.
  Generator other;
  other.set_state(saved);
  CHECK(equal(u, rand({50}, kFloat64, &other)));
}

TEST_CASE("random: manual_seed makes the default generator reproducible") {
  const GeneratorState saved = default_generator().get_state();
  manual_seed(2024);
  CHECK(default_generator().get_state() == GeneratorState{2024, 0});
  const Tensor a = rand({64});
  const Tensor b = randn({3, 5}, kFloat64);
  const Tensor c = zeros({10}).normal_(1, 2);
  manual_seed(2024);
  CHECK(equal(a, rand({64})));
  CHECK(equal(b, randn({3, 5}, kFloat64)));
  CHECK(equal(c, zeros({10}).normal_(1, 2)));
  // The default generator is a Generator like any other.
  Generator g(2024);
  CHECK(equal(a, rand({64}, {}, &g)));
  manual_seed(2025);
  CHECK_FALSE(equal(a, rand({64})));
  default_generator().set_state(saved);
}

TEST_CASE("random: in-place fills follow the logical order of a view") {
  Generator a(6), b(6);
  Tensor x = zeros({4, 6}, kFloat64).t();  // non-contiguous [6, 4]
  x.uniform_(0, 1, &a);
  CHECK(equal(x, rand({6, 4}, kFloat64, &b)));
  Tensor y = zeros({4, 6}).t();
  y.normal_(0, 1, &a);
  CHECK(equal(y, randn({6, 4}, kFloat32, &b)));
}

// ---- Distributions ------------------------------------------------------------------------------

TEST_CASE("random: rand is uniform on [0, 1)") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    Generator g(101);
    const Tensor u = rand({kDraws}, dtype, &g);
    CHECK(u.min().item<double>() >= 0);
    CHECK(u.max().item<double>() < 1);
    // U(0, 1): variance 1/12, fourth central moment 1/80.
    check_moments(u, 0.5, 1.0 / 12, 1.0 / 80);
    // P(u < 0.25) = 0.25.
    check_near(fraction(u < 0.25), 0.25, std::sqrt(0.25 * 0.75 / kDraws));
  }
}

TEST_CASE("random: randn is standard normal") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    Generator g(202);
    const Tensor z = randn({kDraws}, dtype, &g);
    CHECK(std::isfinite(z.abs().max().item<double>()));
    // N(0, 1): variance 1, fourth moment 3.
    check_moments(z, 0.0, 1.0, 3.0);
    // P(|z| < 1) = erf(1 / sqrt(2)); the fourth moment (3) has variance 105 - 9 = 96.
    const double p = std::erf(1 / std::sqrt(2.0));
    check_near(fraction(z.abs() < 1), p, std::sqrt(p * (1 - p) / kDraws));
    check_near(mean_of(z.pow(4)), 3.0, std::sqrt(96.0 / kDraws));
    // The two halves of each Box-Muller pair are uncorrelated.
    const Tensor pairs = z.view({kDraws / 2, 2});
    check_near(mean_of(pairs.select(1, 0) * pairs.select(1, 1)), 0.0, std::sqrt(2.0 / kDraws));
  }
}

TEST_CASE("random: randint covers its range and never leaves it") {
  Generator g(303);
  const int64_t low = -2, high = 3, values = high - low;
  const Tensor r = randint(low, high, {kDraws}, {}, &g);
  CHECK(r.min().item<int64_t>() == low);
  CHECK(r.max().item<int64_t>() == high - 1);
  const double p = 1.0 / values;
  for (int64_t v = low; v < high; ++v) {
    INFO("value ", v);
    check_near(fraction(r == v), p, std::sqrt(p * (1 - p) / kDraws));
  }
  // A range of one value, and a range beyond 32 bits.
  CHECK(equal(randint(7, 8, {5}, {}, &g), full({5}, 7)));
  const Tensor wide = randint(0, int64_t{1} << 40, {kDraws}, {}, &g);
  CHECK(wide.min().item<int64_t>() >= 0);
  CHECK(wide.max().item<int64_t>() < int64_t{1} << 40);
  const double half = std::ldexp(1.0, 39);
  check_near(mean_of(wide), half, half / std::sqrt(3.0 * kDraws));
}

TEST_CASE("random: uniform_ and normal_ take their parameters") {
  for (Dtype dtype : {kFloat32, kFloat64}) {
    Generator g(404);
    Tensor u = empty({kDraws}, dtype);
    CHECK(u.uniform_(-3, 5, &g).is_same(u));
    CHECK(u.min().item<double>() >= -3);
    CHECK(u.max().item<double>() < 5);
    // U(a, b): variance (b - a)^2 / 12, fourth central moment (b - a)^4 / 80.
    check_moments(u, 1.0, 64.0 / 12, 4096.0 / 80);

    Tensor n = empty({kDraws}, dtype);
    n.normal_(-2, 0.5, &g);
    // N(m, s^2): fourth central moment 3 s^4.
    check_moments(n, -2.0, 0.25, 3 * 0.0625);
  }
  Generator g(1);
  CHECK(equal(zeros({4}).normal_(3, 0, &g), full({4}, 3.f)));
  CHECK(equal(zeros({4}, kFloat64).uniform_(2, 2, &g), full({4}, 2.0, kFloat64)));
}

TEST_CASE("random: invalid parameters throw") {
  Tensor x = zeros({3});
  CHECK_THROWS_WITH_AS(x.uniform_(1, 0), doctest::Contains("uniform_: expected low <= high"),
                       Error);
  CHECK_THROWS_WITH_AS(x.normal_(0, -1), doctest::Contains("normal_: expected std >= 0"), Error);
  Tensor i = zeros({3}, kInt64);
  CHECK_THROWS_WITH_AS(i.uniform_(), doctest::Contains("uniform_: expected a float32 or float64"),
                       Error);
  CHECK_THROWS_WITH_AS(i.normal_(), doctest::Contains("int64[3]"), Error);
}

TEST_CASE("dropout_mask keeps with probability 1 - p and scales by 1 / (1 - p)") {
  manual_seed(3);
  const Tensor mask = dropout_mask({1000}, 0.25);
  manual_seed(3);
  const Tensor expected = (rand({1000}) < 0.75).to(kFloat32) * (1.0 / 0.75);
  CHECK(equal(mask, expected));
  const double kept = (mask != 0.0).to(kFloat64).mean().item<double>();
  CHECK(kept > 0.7);
  CHECK(kept < 0.8);
  CHECK(equal(dropout_mask({4}, 0.0, kFloat64), ones({4}, kFloat64)));
  CHECK(equal(dropout_mask({4}, 1.0), zeros({4})));
  test::check_error({"dropout_mask", "[0, 1]", "1.5"}, [] { dropout_mask({4}, 1.5); });
  test::check_error({"dropout_mask", "float dtype", "int64"},
                    [] { dropout_mask({4}, 0.5, kInt64); });
}
