// Convolution and pooling (conv.h): forward values against direct loops written from the
// definitions (strides, padding, dilation, groups, ceil_mode, count_include_pad, 1-d and 2-d,
// unbatched inputs), output sizes against PyTorch's, fold as unfold's adjoint, first and second
// derivatives, max pooling's ties, error messages, and thread independence.

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

#include "test_util.h"

using namespace bg;

namespace {

// ---- Reference loops, in double, on row-major values --------------------------------------------

// One spatial axis: kernel, stride, padding, dilation.
struct Axis {
  int64_t k, s = 1, p = 0, d = 1;
};

// PyTorch's number of windows along an axis of `size`, written out: the padded input holds
// `room` positions after the first window, so room / s more windows fit (rounded up in ceil_mode,
// where a last window must still start inside the input or its left padding).
int64_t window_count(int64_t size, const Axis& a, bool ceil_mode = false) {
  const int64_t room = size + 2 * a.p - a.d * (a.k - 1) - 1;
  int64_t count = (ceil_mode ? (room + a.s - 1) / a.s : room / a.s) + 1;
  if (ceil_mode && (count - 1) * a.s >= size + a.p) --count;
  return count;
}

// x as [N, C, H, W] values with their sizes.
struct Image {
  std::vector<double> v;
  int64_t N, C, H, W;
  double at(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return v[((n * C + c) * H + h) * W + w];
  }
  bool inside(int64_t h, int64_t w) const { return h >= 0 && h < H && w >= 0 && w < W; }
};
Image image_of(const Tensor& x) {
  return {test::values(x), x.size(0), x.size(1), x.size(2), x.size(3)};
}

// conv2d by its definition: out[n, o, y, x] = b[o] + sum over the group's channels and the taps.
std::vector<double> conv2d_ref(const Tensor& input, const Tensor& weight, const Tensor& bias,
                               Axis h, Axis w, int64_t groups) {
  const Image x = image_of(input);
  const std::vector<double> wv = test::values(weight);
  const std::vector<double> bv = bias.defined() ? test::values(bias) : std::vector<double>();
  const int64_t C_out = weight.size(0), C_group = weight.size(1);
  h.k = weight.size(2);
  w.k = weight.size(3);
  const int64_t OH = window_count(x.H, h), OW = window_count(x.W, w);
  std::vector<double> out;
  for (int64_t n = 0; n < x.N; ++n) {
    for (int64_t o = 0; o < C_out; ++o) {
      const int64_t group = o / (C_out / groups);
      for (int64_t oy = 0; oy < OH; ++oy) {
        for (int64_t ox = 0; ox < OW; ++ox) {
          double sum = bv.empty() ? 0.0 : bv[o];
          for (int64_t ci = 0; ci < C_group; ++ci) {
            for (int64_t i = 0; i < h.k; ++i) {
              for (int64_t j = 0; j < w.k; ++j) {
                const int64_t y = oy * h.s - h.p + i * h.d, xx = ox * w.s - w.p + j * w.d;
                if (!x.inside(y, xx)) continue;
                sum += x.at(n, group * C_group + ci, y, xx) *
                       wv[((o * C_group + ci) * h.k + i) * w.k + j];
              }
            }
          }
          out.push_back(sum);
        }
      }
    }
  }
  return out;
}

// conv_transpose2d by its definition: every input element adds weight times itself at the output
// positions its taps reach, y * s - p + i * d.
std::vector<double> conv_transpose2d_ref(const Tensor& input, const Tensor& weight,
                                         const Tensor& bias, Axis h, Axis w, Size2 output_padding,
                                         int64_t groups) {
  const Image x = image_of(input);
  const std::vector<double> wv = test::values(weight);
  const std::vector<double> bv = bias.defined() ? test::values(bias) : std::vector<double>();
  const int64_t C_group_out = weight.size(1), C_out = C_group_out * groups;
  const int64_t C_group_in = x.C / groups;
  h.k = weight.size(2);
  w.k = weight.size(3);
  const int64_t OH = (x.H - 1) * h.s - 2 * h.p + h.d * (h.k - 1) + output_padding.h + 1;
  const int64_t OW = (x.W - 1) * w.s - 2 * w.p + w.d * (w.k - 1) + output_padding.w + 1;
  std::vector<double> out(static_cast<size_t>(x.N * C_out * OH * OW), 0.0);
  for (int64_t n = 0; n < x.N; ++n) {
    for (int64_t o = 0; o < C_out; ++o) {
      for (int64_t k = 0; k < OH * OW; ++k) {
        out[(n * C_out + o) * OH * OW + k] = bv.empty() ? 0.0 : bv[o];
      }
    }
    for (int64_t c = 0; c < x.C; ++c) {
      const int64_t group = c / C_group_in;
      for (int64_t y = 0; y < x.H; ++y) {
        for (int64_t xx = 0; xx < x.W; ++xx) {
          for (int64_t og = 0; og < C_group_out; ++og) {
            for (int64_t i = 0; i < h.k; ++i) {
              for (int64_t j = 0; j < w.k; ++j) {
                const int64_t oy = y * h.s - h.p + i * h.d, ox = xx * w.s - w.p + j * w.d;
                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                const int64_t o = group * C_group_out + og;
                out[((n * C_out + o) * OH + oy) * OW + ox] +=
                    x.at(n, c, y, xx) * wv[((c * C_group_out + og) * h.k + i) * w.k + j];
              }
            }
          }
        }
      }
    }
  }
  return out;
}

// unfold by its definition: row (c, i, j), column (y, x) holds the tap or 0 in the padding.
std::vector<double> unfold_ref(const Tensor& input, Axis h, Axis w) {
  const Image x = image_of(input);
  const int64_t OH = window_count(x.H, h), OW = window_count(x.W, w);
  std::vector<double> out;
  for (int64_t n = 0; n < x.N; ++n) {
    for (int64_t c = 0; c < x.C; ++c) {
      for (int64_t i = 0; i < h.k; ++i) {
        for (int64_t j = 0; j < w.k; ++j) {
          for (int64_t oy = 0; oy < OH; ++oy) {
            for (int64_t ox = 0; ox < OW; ++ox) {
              const int64_t y = oy * h.s - h.p + i * h.d, xx = ox * w.s - w.p + j * w.d;
              out.push_back(x.inside(y, xx) ? x.at(n, c, y, xx) : 0.0);
            }
          }
        }
      }
    }
  }
  return out;
}

// Pooling by its definition, calling visit(n, c, oy, ox, taps) with the input positions of each
// window's taps inside the input, in row-major tap order.
struct Tap {
  int64_t y, x;
};
void for_each_window(
    const Image& x, Axis h, Axis w, bool ceil_mode,
    const std::function<void(int64_t, int64_t, int64_t, int64_t, const std::vector<Tap>&)>& visit) {
  const int64_t OH = window_count(x.H, h, ceil_mode), OW = window_count(x.W, w, ceil_mode);
  for (int64_t n = 0; n < x.N; ++n) {
    for (int64_t c = 0; c < x.C; ++c) {
      for (int64_t oy = 0; oy < OH; ++oy) {
        for (int64_t ox = 0; ox < OW; ++ox) {
          std::vector<Tap> taps;
          for (int64_t i = 0; i < h.k; ++i) {
            for (int64_t j = 0; j < w.k; ++j) {
              const Tap t{oy * h.s - h.p + i * h.d, ox * w.s - w.p + j * w.d};
              if (x.inside(t.y, t.x)) taps.push_back(t);
            }
          }
          visit(n, c, oy, ox, taps);
        }
      }
    }
  }
}

// max pooling: the largest tap (NaN wins); with `argmax`, also the position of the first one.
std::vector<double> max_pool_ref(const Tensor& input, Axis h, Axis w, bool ceil_mode,
                                 std::vector<int64_t>* argmax = nullptr) {
  const Image x = image_of(input);
  std::vector<double> out;
  for_each_window(x, h, w, ceil_mode,
                  [&](int64_t n, int64_t c, int64_t, int64_t, const std::vector<Tap>& taps) {
                    double best = -std::numeric_limits<double>::infinity();
                    int64_t at = -1;
                    for (const Tap& t : taps) {
                      const double v = x.at(n, c, t.y, t.x);
                      if (at < 0 || v > best || (std::isnan(v) && !std::isnan(best))) {
                        best = v;
                        at = ((n * x.C + c) * x.H + t.y) * x.W + t.x;
                      }
                    }
                    out.push_back(best);
                    if (argmax) argmax->push_back(at);
                  });
  return out;
}

// average pooling with PyTorch's divisor: the window clipped to the padded input
// (count_include_pad) or to the input itself.
std::vector<double> avg_pool_ref(const Tensor& input, Axis h, Axis w, bool ceil_mode,
                                 bool count_include_pad) {
  const Image x = image_of(input);
  std::vector<double> out;
  for_each_window(x, h, w, ceil_mode,
                  [&](int64_t n, int64_t c, int64_t oy, int64_t ox, const std::vector<Tap>& taps) {
                    double sum = 0;
                    for (const Tap& t : taps) sum += x.at(n, c, t.y, t.x);
                    const int64_t y0 = oy * h.s - h.p, x0 = ox * w.s - w.p;
                    const int64_t padded =
                        (std::min(y0 + h.k, x.H + h.p) - y0) * (std::min(x0 + w.k, x.W + w.p) - x0);
                    const auto divisor =
                        static_cast<double>(count_include_pad ? padded : taps.size());
                    out.push_back(taps.empty() ? 0.0 : sum / divisor);
                  });
  return out;
}

// adaptive average pooling: output (i, j) averages rows [floor(i H / OH), ceil((i + 1) H / OH))
// and the columns likewise.
std::vector<double> adaptive_avg_ref(const Tensor& input, int64_t OH, int64_t OW) {
  const Image x = image_of(input);
  std::vector<double> out;
  for (int64_t n = 0; n < x.N; ++n) {
    for (int64_t c = 0; c < x.C; ++c) {
      for (int64_t i = 0; i < OH; ++i) {
        for (int64_t j = 0; j < OW; ++j) {
          const int64_t y0 = i * x.H / OH, y1 = ((i + 1) * x.H + OH - 1) / OH;
          const int64_t x0 = j * x.W / OW, x1 = ((j + 1) * x.W + OW - 1) / OW;
          double sum = 0;
          for (int64_t y = y0; y < y1; ++y) {
            for (int64_t xx = x0; xx < x1; ++xx) sum += x.at(n, c, y, xx);
          }
          out.push_back(sum / static_cast<double>((y1 - y0) * (x1 - x0)));
        }
      }
    }
  }
  return out;
}

// ---- Helpers ------------------------------------------------------------------------------------

// N(0, 1) float64 values without autograd, from a generator of their own.
Tensor normal(const Shape& sizes, uint64_t seed, Dtype dtype = kFloat64) {
  Generator generator(seed);
  return randn(sizes, dtype, &generator);
}

// Distinct values in [-1, 1) spaced 2 / count apart, scrambled (i -> i * 7919 mod count is a
// permutation when count is not a multiple of the prime 7919): max pooling's derivative is smooth
// at such inputs, with no ties within finite-difference steps. A float64 leaf.
Tensor distinct_leaf(const Shape& sizes) {
  const int64_t count = numel_of(sizes);
  std::vector<double> v;
  for (int64_t i = 0; i < count; ++i)
    v.push_back(2.0 * static_cast<double>(i * 7919 % count) / count - 1.0);
  return tensor(v, sizes).requires_grad_();
}

// <a, b> summed over all elements, in double.
double dot(const Tensor& a, const Tensor& b) {
  return (a.to(kFloat64) * b.to(kFloat64)).sum().item<double>();
}

// Restores the thread count a test found, so other suites are unaffected.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(get_num_threads()) {}
  ~ThreadCountGuard() { set_num_threads(saved_); }
  ThreadCountGuard(const ThreadCountGuard&) = delete;
  ThreadCountGuard& operator=(const ThreadCountGuard&) = delete;

 private:
  int saved_;
};

}  // namespace

// ---- Forward values -----------------------------------------------------------------------------

TEST_CASE("conv2d matches the direct sum for strides, padding, dilation, groups and biases") {
  struct Case {
    Shape input, weight;
    Axis h, w;
    int64_t groups;
    bool bias;
  };
  const std::vector<Case> cases = {
      {{2, 3, 6, 5}, {4, 3, 3, 3}, {3}, {3}, 1, true},
      {{1, 2, 5, 5}, {3, 2, 2, 2}, {2, 2}, {2, 2}, 1, false},
      {{2, 4, 7, 6}, {6, 2, 2, 3}, {2, 2, 1}, {3, 1, 2, 2}, 2, true},  // non-square kernel, groups
      {{1, 3, 6, 6}, {3, 1, 3, 3}, {3, 1, 1, 2}, {3, 2, 2}, 3, true},  // depthwise, dilation
      {{2, 1, 4, 4}, {2, 1, 5, 5}, {5, 1, 2}, {5, 2, 2}, 1, true},     // kernel fills the padding
  };
  for (const Case& c : cases) {
    CAPTURE(shape_str(c.input));
    CAPTURE(shape_str(c.weight));
    const Tensor x = normal(c.input, 1), w = normal(c.weight, 2);
    const Tensor b = c.bias ? normal({c.weight[0]}, 3) : Tensor();
    const Tensor out =
        conv2d(x, w, b, Size2(c.h.s, c.w.s), Size2(c.h.p, c.w.p), Size2(c.h.d, c.w.d), c.groups);
    CHECK(out.sizes() == Shape{c.input[0], c.weight[0],
                               window_count(c.input[2], {c.weight[2], c.h.s, c.h.p, c.h.d}),
                               window_count(c.input[3], {c.weight[3], c.w.s, c.w.p, c.w.d})});
    test::check_close(out, conv2d_ref(x, w, b, c.h, c.w, c.groups), 1e-12, 1e-12);
  }
}

TEST_CASE("conv2d in float32 agrees with the double-precision sum on a LeNet-sized layer") {
  // Large enough for the vectorized im2col and the packed GEMM; 150-term dot products of N(0, 1)
  // values stay within 1e-4 in float32.
  const Tensor x = normal({4, 6, 12, 12}, 4, kFloat32), w = normal({16, 6, 5, 5}, 5, kFloat32);
  const Tensor b = normal({16}, 6, kFloat32);
  const Tensor out = conv2d(x, w, b, 1, 2);
  CHECK(out.dtype() == kFloat32);
  test::check_close(out, conv2d_ref(x, w, b, {5, 1, 2}, {5, 1, 2}, 1), 1e-4, 1e-4);
  // Strided, grouped, without bias (the batched product over groups).
  const Tensor w2 = normal({8, 3, 3, 3}, 7, kFloat32);
  test::check_close(conv2d(x, w2, {}, 2, 1, 1, 2), conv2d_ref(x, w2, {}, {3, 2, 1}, {3, 2, 1}, 2),
                    1e-4, 1e-4);
}

TEST_CASE("conv2d accepts an unbatched [C, H, W] input and keeps the batch dim missing") {
  const Tensor x = normal({3, 5, 5}, 8), w = normal({2, 3, 3, 3}, 9), b = normal({2}, 10);
  const Tensor out = conv2d(x, w, b, 1, 1);
  CHECK(out.sizes() == Shape{2, 5, 5});
  test::check_close(out, conv2d_ref(x.unsqueeze(0), w, b, {3, 1, 1}, {3, 1, 1}, 1), 1e-12, 1e-12);
}

TEST_CASE("conv1d is conv2d over a length, batched and unbatched") {
  const Tensor x = normal({2, 4, 9}, 11), w = normal({6, 2, 3}, 12), b = normal({6}, 13);
  const Tensor out = conv1d(x, w, b, 2, 1, 2, 2);
  const int64_t L = window_count(9, {3, 2, 1, 2});
  CHECK(out.sizes() == Shape{2, 6, L});
  test::check_close(out, conv2d_ref(x.unsqueeze(2), w.unsqueeze(2), b, {1}, {3, 2, 1, 2}, 2), 1e-12,
                    1e-12);
  const Tensor single = conv1d(x[1], w, b, 2, 1, 2, 2);
  CHECK(single.sizes() == Shape{6, L});
  test::check_close(single, test::values(out[1]), 1e-12, 1e-12);
}

TEST_CASE("conv_transpose2d matches the direct scatter of every input element") {
  struct Case {
    Shape input, weight;
    Axis h, w;
    Size2 output_padding;
    int64_t groups;
  };
  const std::vector<Case> cases = {
      {{2, 3, 4, 4}, {3, 2, 3, 3}, {3, 2, 1}, {3, 2, 1}, 1, 1},
      {{1, 4, 3, 5}, {4, 3, 2, 3}, {2, 1, 0, 2}, {3, 3, 1}, Size2(1, 2), 2},  // dilation, groups
      {{1, 2, 3, 3}, {2, 1, 3, 2}, {3, 1, 2}, {2, 2, 0}, Size2(0, 1), 1},
  };
  for (const Case& c : cases) {
    CAPTURE(shape_str(c.input));
    const Tensor x = normal(c.input, 14), w = normal(c.weight, 15);
    const Tensor b = normal({c.weight[1] * c.groups}, 16);
    const Tensor out = conv_transpose2d(x, w, b, Size2(c.h.s, c.w.s), Size2(c.h.p, c.w.p),
                                        c.output_padding, c.groups, Size2(c.h.d, c.w.d));
    test::check_close(out, conv_transpose2d_ref(x, w, b, c.h, c.w, c.output_padding, c.groups),
                      1e-12, 1e-12);
  }
  // Unbatched.
  const Tensor x = normal({3, 4, 4}, 17), w = normal({3, 2, 3, 3}, 18);
  CHECK(conv_transpose2d(x, w, {}, 2, 1, 1).sizes() == Shape{2, 8, 8});
}

TEST_CASE("conv_transpose2d is the adjoint of conv2d with respect to the input") {
  // <conv2d(x, w), y> == <x, conv_transpose2d(y, w)> for the same stride, padding, dilation and
  // groups; output_padding restores x's size where the stride leaves a remainder.
  const Tensor x = normal({2, 4, 8, 7}, 19), w = normal({6, 2, 3, 2}, 20);
  const Tensor y = normal({2, 6, 4, 4}, 21);
  const Tensor forward = conv2d(x, w, {}, Size2(2, 2), Size2(1, 1), Size2(1, 2), 2);
  REQUIRE(forward.sizes() == y.sizes());
  const Tensor back =
      conv_transpose2d(y, w, {}, Size2(2, 2), Size2(1, 1), Size2(1, 0), 2, Size2(1, 2));
  REQUIRE(back.sizes() == x.sizes());
  CHECK(dot(forward, y) == doctest::Approx(dot(x, back)).epsilon(1e-12));
}

TEST_CASE("unfold gathers every window into a column, 0 in the padding") {
  const Tensor x = normal({2, 3, 5, 6}, 22);
  const Tensor columns = unfold(x, Size2(2, 3), Size2(2, 1), Size2(1, 2), Size2(1, 2));
  const int64_t L = window_count(5, {2, 1, 1, 2}) * window_count(6, {3, 2, 2, 1});
  CHECK(columns.sizes() == Shape{2, 3 * 2 * 3, L});
  test::check_close(columns, unfold_ref(x, {2, 1, 1, 2}, {3, 2, 2, 1}), 0.0);
  // Unbatched, and a small example by hand: [1, 3, 3] with a 2 x 2 kernel.
  const Tensor single = unfold(test::iota({1, 3, 3}), 2);
  CHECK(single.sizes() == Shape{4, 4});
  test::check_close(single, {0, 1, 3, 4, 1, 2, 4, 5, 3, 4, 6, 7, 4, 5, 7, 8}, 0.0);
}

TEST_CASE("fold is the adjoint of unfold") {
  // <unfold(x), y> == <x, fold(y)>, with padding, dilation, strides and windows that overlap.
  struct Case {
    Shape image;
    Size2 kernel, dilation, padding, stride;
  };
  const std::vector<Case> cases = {
      {{2, 3, 7, 6}, Size2(3, 2), 1, Size2(1, 0), 1},
      {{1, 2, 9, 8}, 3, Size2(2, 1), 2, Size2(2, 3)},
      {{2, 1, 5, 5}, 5, 1, 0, 1},
  };
  for (const Case& c : cases) {
    CAPTURE(shape_str(c.image));
    const Tensor x = normal(c.image, 23);
    const Tensor columns = unfold(x, c.kernel, c.dilation, c.padding, c.stride);
    const Tensor y = normal(columns.sizes(), 24);
    const Tensor folded =
        fold(y, Size2(c.image[2], c.image[3]), c.kernel, c.dilation, c.padding, c.stride);
    REQUIRE(folded.sizes() == x.sizes());
    CHECK(dot(columns, y) == doctest::Approx(dot(x, folded)).epsilon(1e-12));
  }
  // fold of unfold counts how many windows cover each position.
  const Tensor covered = fold(unfold(ones({1, 1, 3, 3}, kFloat64), 2), 3, 2);
  test::check_close(covered, {1, 2, 1, 2, 4, 2, 1, 2, 1}, 0.0);
  // Unbatched columns give an unbatched image.
  CHECK(fold(ones({4, 4}, kFloat64), 3, 2).sizes() == Shape{1, 3, 3});
}

TEST_CASE("fold of columns whose rows share cache sets has the bits of fold of their copy") {
  // A convolution's columns [C kh kw, N, L], seen as [N, C kh kw, L]: rows N L elements apart, 4
  // KiB here, so that fold copies each plane's taps apart first (Note [Rows that share cache
  // sets], core/src/cpu/window_plan.h). The contiguous copy's rows are L apart, and are summed in
  // place. Unit and non-unit strides (the AVX-512 and the portable sums).
  struct Case {
    Dtype dtype;
    int64_t N;
    Size2 kernel, stride;
    int64_t size;
  };
  for (const Case& c :
       {Case{kFloat32, 16, 3, 1, 10}, Case{kFloat64, 8, 5, 1, 12}, Case{kFloat32, 16, 3, 2, 17}}) {
    CAPTURE(dtype_name(c.dtype));
    const int64_t C = 2, taps = c.kernel.h * c.kernel.w;
    const int64_t L = window_count(c.size, {c.kernel.h, c.stride.h}) *
                      window_count(c.size, {c.kernel.w, c.stride.w});
    REQUIRE(c.N * L * static_cast<int64_t>(element_size(c.dtype)) == 4096);
    const Tensor columns = normal({C * taps, c.N, L}, 25, c.dtype).permute({1, 0, 2});
    const Tensor folded = fold(columns, c.size, c.kernel, 1, 0, c.stride);
    CHECK(equal(folded, fold(columns.contiguous(), c.size, c.kernel, 1, 0, c.stride)));
  }
}

TEST_CASE("max_pool2d and max_pool1d match the direct maximum, ceil_mode and padding included") {
  struct Case {
    Shape input;
    Axis h, w;
    bool ceil_mode;
  };
  const std::vector<Case> cases = {
      {{2, 3, 6, 6}, {2, 2}, {2, 2}, false},         {{1, 2, 7, 5}, {3, 2, 1}, {2, 1}, false},
      {{2, 2, 5, 5}, {2, 2}, {2, 2}, true},          {{1, 3, 6, 7}, {3, 2, 1}, {3, 3, 1}, true},
      {{1, 1, 9, 8}, {3, 2, 1, 2}, {2, 3, 1}, true},  // dilation
      {{2, 3, 7, 41}, {3, 2, 1}, {2, 2}, true},       // 2-wide windows along long rows
  };
  for (const Case& c : cases) {
    CAPTURE(shape_str(c.input));
    const Tensor x = normal(c.input, 25);
    const Tensor out = max_pool2d(x, Size2(c.h.k, c.w.k), Size2(c.h.s, c.w.s), Size2(c.h.p, c.w.p),
                                  Size2(c.h.d, c.w.d), c.ceil_mode);
    CHECK(out.sizes() == Shape{c.input[0], c.input[1], window_count(c.input[2], c.h, c.ceil_mode),
                               window_count(c.input[3], c.w, c.ceil_mode)});
    test::check_close(out, max_pool_ref(x, c.h, c.w, c.ceil_mode), 0.0);
    // float32 takes the vectorized path.
    test::check_close(max_pool2d(x.to(kFloat32), Size2(c.h.k, c.w.k), Size2(c.h.s, c.w.s),
                                 Size2(c.h.p, c.w.p), Size2(c.h.d, c.w.d), c.ceil_mode),
                      test::values(out.to(kFloat32)), 0.0);
  }
  // The stride defaults to the kernel; an unbatched input; 1-d.
  const Tensor x = normal({3, 8, 8}, 26);
  CHECK(max_pool2d(x, 2).sizes() == Shape{3, 4, 4});
  test::check_close(max_pool2d(x, 2), max_pool_ref(x.unsqueeze(0), {2, 2}, {2, 2}, false), 0.0);
  const Tensor signal = normal({2, 3, 11}, 27);
  const Tensor pooled = max_pool1d(signal, 3, 2, 1, 2, true);
  test::check_close(pooled, max_pool_ref(signal.unsqueeze(2), {1}, {3, 2, 1, 2}, true), 0.0);
  CHECK(max_pool1d(signal[0], 2).sizes() == Shape{3, 5});
}

TEST_CASE("pooling output sizes are PyTorch's, ceil_mode included") {
  // torch.nn.functional.max_pool2d(torch.zeros(shape), **kwargs).shape, PyTorch 1.13:
  //   (1,1,5,5) kernel 2 stride 2 ceil -> (3, 3); (1,1,6,6) k3 s2 p1 ceil -> (4, 4);
  //   (1,1,7,7) k3 s3 p1 ceil -> (3, 3); (1,1,4,4) k2 s3 p1 ceil -> (2, 2);
  //   (1,1,9,8) k(3,2) s(2,3) p(1,1) d(2,1) ceil -> (4, 3); (1,1,6,6) k3 s2 p1 -> (3, 3).
  CHECK(max_pool2d(zeros({1, 1, 5, 5}), 2, 2, 0, 1, true).sizes() == Shape{1, 1, 3, 3});
  CHECK(max_pool2d(zeros({1, 1, 6, 6}), 3, 2, 1, 1, true).sizes() == Shape{1, 1, 4, 4});
  CHECK(max_pool2d(zeros({1, 1, 7, 7}), 3, 3, 1, 1, true).sizes() == Shape{1, 1, 3, 3});
  CHECK(max_pool2d(zeros({1, 1, 4, 4}), 2, 3, 1, 1, true).sizes() == Shape{1, 1, 2, 2});
  CHECK(max_pool2d(zeros({1, 1, 9, 8}), Size2(3, 2), Size2(2, 3), 1, Size2(2, 1), true).sizes() ==
        Shape{1, 1, 4, 3});
  CHECK(max_pool2d(zeros({1, 1, 6, 6}), 3, 2, 1).sizes() == Shape{1, 1, 3, 3});
}

TEST_CASE("avg_pool2d divides as PyTorch does, with and without the padding") {
  // x = torch.arange(36.).reshape(1, 1, 6, 6); F.avg_pool2d(x[..., :5, :5], 2, 2, ceil_mode=True):
  const Tensor x = test::iota({1, 1, 6, 6});
  test::check_close(avg_pool2d(x.slice(2, 0, 5).slice(3, 0, 5), 2, 2, 0, true),
                    {3.5, 5.5, 7.0, 15.5, 17.5, 19.0, 24.5, 26.5, 28.0}, 1e-12);
  // F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=True / False):
  test::check_close(avg_pool2d(x, 3, 2, 1, true, true),
                    {1.5555555820465088, 3.3333332538604736, 4.666666507720947, 2.6666667461395264,
                     8.333333015441895, 14.0, 16.0, 8.5, 16.33333396911621, 26.0, 28.0, 14.5,
                     10.166666984558105, 16.0, 17.0, 8.75},
                    1e-7);
  test::check_close(
      avg_pool2d(x, 3, 2, 1, true, false),
      {3.5, 5.0, 7.0, 8.0, 12.5, 14.0, 16.0, 17.0, 24.5, 26.0, 28.0, 29.0, 30.5, 32.0, 34.0, 35.0},
      1e-12);
  // Against the direct loop, non-square, strided, 1-d and unbatched.
  const Tensor y = normal({2, 3, 7, 6}, 28);
  test::check_close(avg_pool2d(y, Size2(3, 2), Size2(2, 1), Size2(1, 1), true, false),
                    avg_pool_ref(y, {3, 2, 1}, {2, 1, 1}, true, false), 1e-12, 1e-12);
  test::check_close(avg_pool2d(y, Size2(3, 2), Size2(2, 1), Size2(1, 1), false, true),
                    avg_pool_ref(y, {3, 2, 1}, {2, 1, 1}, false, true), 1e-12, 1e-12);
  const Tensor signal = normal({2, 3, 10}, 29);
  test::check_close(avg_pool1d(signal, 4, 3, 2, true, false),
                    avg_pool_ref(signal.unsqueeze(2), {1}, {4, 3, 2}, true, false), 1e-12, 1e-12);
  CHECK(avg_pool2d(y[0], 2).sizes() == Shape{3, 3, 3});
  CHECK(avg_pool1d(signal[0], 3).sizes() == Shape{3, 3});
}

TEST_CASE("adaptive_avg_pool2d averages PyTorch's windows") {
  // F.adaptive_avg_pool2d(torch.arange(35.).reshape(1, 1, 5, 7), (3, 4)):
  test::check_close(adaptive_avg_pool2d(test::iota({1, 1, 5, 7}), Size2(3, 4)),
                    {4.0, 5.5, 7.5, 9.0, 14.5, 16.0, 18.0, 19.5, 25.0, 26.5, 28.5, 30.0}, 1e-12);
  const Tensor x = normal({2, 3, 7, 5}, 30);
  for (const Size2 size : {Size2(1, 1), Size2(3, 2), Size2(7, 5), Size2(9, 6)}) {
    CAPTURE(size.h);
    CAPTURE(size.w);
    test::check_close(adaptive_avg_pool2d(x, size), adaptive_avg_ref(x, size.h, size.w), 1e-12,
                      1e-12);
  }
  CHECK(adaptive_avg_pool2d(x[0], 2).sizes() == Shape{3, 2, 2});
}

TEST_CASE("an empty batch gives empty results and zero parameter gradients") {
  const Tensor x = zeros({0, 3, 5, 5}, kFloat64).requires_grad_();
  const Tensor w = test::leaf({4, 3, 3, 3}, 31), b = test::leaf({4}, 32);
  const Tensor y = conv2d(x, w, b, 1, 1);
  CHECK(y.sizes() == Shape{0, 4, 5, 5});
  y.sum().backward();
  test::check_equal(w.grad(), zeros({4, 3, 3, 3}, kFloat64));
  test::check_equal(b.grad(), zeros({4}, kFloat64));
  CHECK(max_pool2d(x, 2).sizes() == Shape{0, 3, 2, 2});
  CHECK(avg_pool2d(x, 2).sizes() == Shape{0, 3, 2, 2});
  CHECK(adaptive_avg_pool2d(x, 3).sizes() == Shape{0, 3, 3, 3});
  CHECK(conv_transpose2d(x, w.detach().transpose(0, 1), {}, 2).sizes() == Shape{0, 4, 11, 11});
  CHECK(fold(unfold(x, 2), 5, 2).sizes() == Shape{0, 3, 5, 5});
}

TEST_CASE(
    "adaptive_avg_pool2d to a size of 0 is empty; conv2d with no output channel is an error") {
  // F.adaptive_avg_pool2d(torch.zeros(2, 3, 4, 4), (0, 0)).shape == (2, 3, 0, 0); (0, 2) too.
  const Tensor x = test::leaf({2, 3, 4, 4}, 33);
  const Tensor none = adaptive_avg_pool2d(x, {0, 0});
  CHECK(none.sizes() == Shape{2, 3, 0, 0});
  CHECK(adaptive_avg_pool2d(x, {0, 2}).sizes() == Shape{2, 3, 0, 2});
  none.sum().backward();
  test::check_equal(x.grad(), zeros({2, 3, 4, 4}, kFloat64));
  // F.conv2d(torch.zeros(1, 3, 5, 5), torch.zeros(0, 3, 3, 3)): "expected weight to be at least 1
  // at dimension 0".
  test::check_error({"conv2d", "float32[0, 3, 3, 3]", "no output channel"}, [] {
    (void)conv2d(zeros({1, 3, 5, 5}), zeros({0, 3, 3, 3}));
  });
  test::check_error({"conv_transpose2d", "no output channel"}, [] {
    (void)conv_transpose2d(zeros({1, 3, 5, 5}), zeros({3, 0, 3, 3}));
  });
}

// ---- Max pooling's gradient ---------------------------------------------------------------------

TEST_CASE("max_pool2d sends each window's gradient to its first maximum") {
  // All equal: every window's gradient goes to its top-left element (float32 rows long enough
  // for the vectorized 2 x 2 path, and float64).
  for (const Dtype dtype : {kFloat32, kFloat64}) {
    const Tensor flat = ones({1, 1, 2, 32}, dtype).requires_grad_();
    max_pool2d(flat, 2).sum().backward();
    std::vector<double> expected(64, 0.0);
    for (int64_t j = 0; j < 32; j += 2) expected[j] = 1;
    test::check_close(flat.grad(), expected, 0.0);
  }
  // Overlapping windows (stride 1) add up at a shared maximum; ties pick the first in row-major
  // order within each window, as the reference loop does.
  const Tensor x = tensor({{1.0, 3.0, 3.0}, {2.0, 3.0, 0.0}, {3.0, 1.0, 3.0}})
                       .reshape({1, 1, 3, 3})
                       .requires_grad_();
  const Tensor g = tensor({{1.0, 10.0}, {100.0, 1000.0}}).reshape({1, 1, 2, 2});
  max_pool2d(x, 2, 1).backward(g);
  std::vector<int64_t> argmax;
  max_pool_ref(x, {2, 1}, {2, 1}, false, &argmax);
  std::vector<double> expected(9, 0.0);
  const std::vector<double> gv = test::values(g);
  for (size_t i = 0; i < argmax.size(); ++i) expected[argmax[i]] += gv[i];
  test::check_close(x.grad(), expected, 0.0);
  CHECK(expected == std::vector<double>{0, 11, 0, 0, 1100, 0, 0, 0, 0});
}

TEST_CASE("max_pool2d propagates NaN and ignores -inf padding") {
  const double nan = test::kNaN;
  const Tensor x = tensor({{1.0, nan}, {3.0, 2.0}}).reshape({1, 1, 2, 2});
  test::check_close(max_pool2d(x, 2), {nan}, 0.0);
  test::check_close(max_pool2d(x.to(kFloat32), 2), {nan}, 0.0);
  // A NaN in either column or row of a 2 x 2 window, and the gradient going to it, in float32
  // rows of 8 windows (the vectorized path).
  std::vector<double> values(32, 1.0);
  values[3] = nan;       // window 1, top right
  values[16 + 4] = nan;  // window 2, bottom left
  values[5] = 7.0;       // window 2 has a larger number before its NaN: the NaN still wins
  const Tensor wide = tensor(values, {1, 1, 2, 16}).to(kFloat32).requires_grad_();
  const Tensor pooled = max_pool2d(wide, 2);
  test::check_close(pooled, {1, nan, nan, 1, 1, 1, 1, 1}, 0.0);
  pooled.backward(ones_like(pooled));
  std::vector<double> expected(32, 0.0);
  for (const int64_t at : {0, 3, 20, 6, 8, 10, 12, 14}) expected[at] = 1;
  test::check_close(wide.grad(), expected, 0.0);
  // Negative values with padding: the padding never wins.
  test::check_close(max_pool2d(full({1, 1, 2, 2}, -5.0, kFloat64), 2, 1, 1),
                    {-5, -5, -5, -5, -5, -5, -5, -5, -5}, 0.0);
}

// ---- Gradients ----------------------------------------------------------------------------------

TEST_CASE("conv2d and conv1d: first and second derivatives, contiguous or not") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return conv2d(in[0], in[1], in[2], Size2(2, 1), Size2(1, 0), Size2(1, 2), 2);
      },
      {test::leaf({2, 4, 5, 5}, 31), test::leaf({4, 2, 2, 2}, 32), test::leaf({4}, 33)});
  // Permuted views for the input and weight (the batch dim last in memory).
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], {}, 1, 1); },
      {test::strided_leaf({2, 2, 4, 3}, 34), test::strided_leaf({3, 2, 2, 3}, 35)});
  // Unbatched.
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], 2, 1); },
      {test::leaf({2, 4, 4}, 36), test::leaf({2, 2, 3, 3}, 37), test::leaf({2}, 38)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return conv1d(in[0], in[1], in[2], 2, 1, 2, 2); },
      {test::strided_leaf({2, 4, 7}, 39), test::leaf({4, 2, 2}, 40), test::leaf({4}, 41)});
}

TEST_CASE("conv_transpose2d: first and second derivatives") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return conv_transpose2d(in[0], in[1], in[2], 2, 1, Size2(1, 0), 2, Size2(1, 2));
      },
      {test::strided_leaf({1, 4, 3, 3}, 42), test::leaf({4, 1, 2, 2}, 43), test::leaf({2}, 44)});
}

TEST_CASE("unfold and fold: first and second derivatives") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return unfold(in[0], Size2(2, 3), 1, Size2(1, 0), 2); },
      {test::strided_leaf({2, 2, 4, 5}, 45)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return fold(in[0], Size2(4, 5), 2, Size2(1, 2), 1, 2); },
      {test::strided_leaf({2, 8, 9}, 46)});
}

TEST_CASE("max pooling: first and second derivatives away from ties") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return max_pool2d(in[0], 3, 2, 1, 1, true); },
      {distinct_leaf({2, 2, 5, 6})});
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return max_pool2d(in[0].permute({0, 1, 3, 2}), 2, 1);
      },
      {distinct_leaf({1, 2, 4, 3})});
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return max_pool1d(in[0], 3, 2, 1, 2, true); },
      {distinct_leaf({2, 3, 9})});
}

TEST_CASE("average pooling: first and second derivatives") {
  test::check_gradients(
      [](const std::vector<Tensor>& in) {
        return avg_pool2d(in[0], Size2(3, 2), Size2(2, 1), 1, true, false);
      },
      {test::strided_leaf({2, 2, 5, 4}, 47)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return avg_pool1d(in[0], 3, 2, 1, true, true); },
      {test::leaf({2, 2, 8}, 48)});
  test::check_gradients(
      [](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], Size2(3, 2)); },
      {test::strided_leaf({2, 2, 5, 4}, 49)});
}

// ---- Errors -------------------------------------------------------------------------------------

TEST_CASE("convolutions name the op and the shapes in their errors") {
  const Tensor x = zeros({1, 3, 5, 5}), w = zeros({4, 3, 3, 3});
  test::check_error({"conv2d: expected an input [C, H, W] (unbatched) or [N, C, H, W], got "
                     "float32[3, 5] on cpu"},
                    [&] {
                      conv2d(zeros({3, 5}), w);
                    });
  test::check_error({"conv2d: expected a 4-d weight [C_out, C_in / groups, kH, kW], got "
                     "float32[4, 3, 3] on cpu"},
                    [&] {
                      conv2d(x, zeros({4, 3, 3}));
                    });
  test::check_error({"conv2d: the input float32[1, 3, 5, 5] on cpu has 3 channels, but the weight "
                     "float32[4, 2, 3, 3] on cpu with groups = 1 expects 2"},
                    [&] {
                      conv2d(x, zeros({4, 2, 3, 3}));
                    });
  test::check_error({"conv2d: out_channels = 3", "is not divisible by groups = 2"}, [&] {
    conv2d(zeros({1, 4, 5, 5}), zeros({3, 2, 3, 3}), {}, 1, 0, 1, 2);
  });
  test::check_error({"conv2d: groups must be positive, got 0"},
                    [&] { conv2d(x, w, {}, 1, 0, 1, 0); });
  test::check_error({"conv2d: the kernel [3, 3] (dilation [3, 3]) is larger than the input "
                     "float32[1, 3, 5, 5] on cpu padded to [5, 5]"},
                    [&] { conv2d(x, w, {}, 1, 0, 3); });
  test::check_error({"conv2d: the stride must be positive, got [0, 1]"},
                    [&] { conv2d(x, w, {}, Size2(0, 1)); });
  test::check_error({"conv2d: the padding must be non-negative, got [1, -1]"},
                    [&] { conv2d(x, w, {}, 1, Size2(1, -1)); });
  test::check_error({"conv2d: expected a bias of shape [4] and the input's dtype float32, got "
                     "float32[3] on cpu"},
                    [&] { conv2d(x, w, zeros({3})); });
  test::check_error({"conv2d: the input float32[1, 3, 5, 5] on cpu and the weight "
                     "float64[4, 3, 3, 3] on cpu must have the same dtype"},
                    [&] { conv2d(x, w.to(kFloat64)); });
  test::check_error({"conv2d: expected a float32 or float64 tensor, got int64[1, 3, 5, 5]"},
                    [&] { conv2d(x.to(kInt64), w.to(kInt64)); });
  test::check_error({"conv1d: expected an input [C, L] (unbatched) or [N, C, L], got "
                     "float32[1, 3, 5, 5] on cpu"},
                    [&] {
                      conv1d(x, zeros({4, 3, 3}));
                    });
  test::check_error({"conv1d: the kernel [7] (dilation [1]) is larger than the input "
                     "float32[1, 3, 5] on cpu padded to [5]"},
                    [&] {
                      conv1d(zeros({1, 3, 5}), zeros({2, 3, 7}));
                    });
  test::check_error({"conv_transpose2d: the input float32[1, 3, 5, 5] on cpu has 3 channels, but "
                     "the weight float32[4, 3, 3, 3] on cpu expects 4"},
                    [&] { conv_transpose2d(x, w); });
  test::check_error({"conv_transpose2d: the output padding [2, 2] must be smaller than the stride "
                     "[2, 2] or the dilation [1, 1]"},
                    [&] {
                      conv_transpose2d(x, zeros({3, 2, 3, 3}), {}, 2, 0, 2);
                    });
  test::check_error({"conv_transpose2d: in_channels = 3 is not divisible by groups = 2"}, [&] {
    conv_transpose2d(x, zeros({3, 2, 3, 3}), {}, 1, 0, 0, 2);
  });
}

TEST_CASE("pooling, unfold and fold name the op and the shapes in their errors") {
  const Tensor x = zeros({1, 2, 5, 5});
  test::check_error({"max_pool2d: the padding [2, 2] must be at most half the kernel size [3, 3]"},
                    [&] { max_pool2d(x, 3, 1, 2); });
  test::check_error({"max_pool2d: the input float32[1, 2, 5, 5] on cpu is too small for the kernel "
                     "[6, 6] (dilation [1, 1], padding [0, 0]): the output would be [0, 0]"},
                    [&] { max_pool2d(x, 6); });
  test::check_error({"max_pool2d: the kernel size must be positive, got [0, 2]"},
                    [&] { max_pool2d(x, Size2(0, 2)); });
  test::check_error(
      {"max_pool2d: some window of the kernel [2, 2] (dilation [3, 3], padding "
       "[1, 1]) lies entirely in the padding of the input float32[1, 1, 1, 1] on cpu"},
      [&] {
        max_pool2d(zeros({1, 1, 1, 1}), 2, 2, 1, 3, true);
      });
  test::check_error({"max_pool1d: expected an input [C, L] (unbatched) or [N, C, L], got "
                     "float32[5] on cpu"},
                    [&] { max_pool1d(zeros({5}), 2); });
  test::check_error({"avg_pool2d: expected a float32 or float64 tensor, got int64[1, 2, 5, 5]"},
                    [&] { avg_pool2d(x.to(kInt64), 2); });
  test::check_error({"avg_pool1d: the padding [2] must be at most half the kernel size [3]"}, [&] {
    avg_pool1d(zeros({1, 2, 9}), 3, 1, 2);
  });
  test::check_error({"adaptive_avg_pool2d: the output size must be non-negative, got [-1, 2]"},
                    [&] { adaptive_avg_pool2d(x, Size2(-1, 2)); });
  test::check_error({"unfold: the kernel [6, 2] (dilation [1, 1]) is larger than the input "
                     "float32[1, 2, 5, 5] on cpu padded to [5, 5]"},
                    [&] { unfold(x, Size2(6, 2)); });
  test::check_error({"fold: the columns float32[1, 8, 10] on cpu hold 10 windows, but an output of "
                     "size [4, 4] with kernel [2, 2], dilation [1, 1], padding [0, 0] and stride "
                     "[1, 1] has [3, 3] windows"},
                    [&] {
                      fold(zeros({1, 8, 10}), 4, 2);
                    });
  test::check_error({"fold: the columns float32[1, 6, 9] on cpu have 6 rows, not a multiple of the "
                     "kernel's 2 * 2 = 4 taps"},
                    [&] {
                      fold(zeros({1, 6, 9}), 4, 2);
                    });
  test::check_error({"fold: expected columns [C * kH * kW, L] (unbatched) or [N, C * kH * kW, L], "
                     "got float32[9] on cpu"},
                    [&] { fold(zeros({9}), 4, 2); });
}

// ---- Threads ------------------------------------------------------------------------------------

TEST_CASE("convolution and pooling give the same bits on 1 and 2 threads") {
  // Many planes and windows, so every kernel splits into several parallel chunks.
  auto compute = [] {
    const Tensor x = normal({8, 16, 20, 20}, 50, kFloat32).requires_grad_();
    const Tensor w = normal({24, 16, 3, 3}, 51, kFloat32).requires_grad_();
    const Tensor b = normal({24}, 52, kFloat32).requires_grad_();
    const Tensor y = max_pool2d(conv2d(x, w, b, 1, 1), 2);
    const Tensor z = avg_pool2d(y, 3, 1, 1);
    const std::vector<Tensor> grads = autograd::grad({z}, {x, w, b}, {ones_like(z)});
    return std::vector<Tensor>{y, z, grads[0], grads[1], grads[2]};
  };
  const ThreadCountGuard guard;
  set_num_threads(1);
  const std::vector<Tensor> one = compute();
  set_num_threads(2);
  const std::vector<Tensor> two = compute();
  for (size_t i = 0; i < one.size(); ++i) {
    INFO("result ", i, ": ", describe(one[i]));
    CHECK(equal(one[i], two[i]));
  }
}

// ---- The matrix products convolutions make ------------------------------------------------------

TEST_CASE("matmul handles a convolution's products: few rows, long rows, transposed operands") {
  // Forward: weight [C_out, K] @ columns [K, N L] with few rows and a ragged last column block;
  // weight gradient: grad [C_out, N L] @ columns^T, a long inner dimension with both operands
  // contiguous along it. Checked against double-precision dot products.
  for (const Dtype dtype : {kFloat32, kFloat64}) {
    CAPTURE(dtype_name(dtype));
    const double tolerance = dtype == kFloat32 ? 1e-4 : 1e-12;
    const Tensor weight = normal({6, 26}, 60, dtype), columns = normal({26, 3001}, 61, dtype);
    const Tensor forward = weight.mm(columns);
    const Tensor grad = normal({6, 3001}, 62, dtype);
    const Tensor weight_grad = grad.mm(columns.t());
    auto reference = [](const Tensor& a, const Tensor& b) {
      // a [M, K] @ b [K, N] in double.
      const std::vector<double> av = test::values(a), bv = test::values(b);
      const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
      std::vector<double> out(static_cast<size_t>(M * N), 0.0);
      for (int64_t i = 0; i < M; ++i) {
        for (int64_t k = 0; k < K; ++k) {
          for (int64_t j = 0; j < N; ++j) out[i * N + j] += av[i * K + k] * bv[k * N + j];
        }
      }
      return out;
    };
    test::check_close(forward, reference(weight, columns), tolerance, tolerance);
    // 3001 terms of N(0, 1) products: the float32 sum is off by up to ~K * 6e-8 * sqrt(K).
    test::check_close(weight_grad, reference(grad, columns.t()), tolerance,
                      dtype == kFloat32 ? 1e-2 : 1e-10);
  }
}
