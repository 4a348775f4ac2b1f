#pragma once
// BG_ARG: an option with a chained setter and a getter, as LibTorch's TORCH_ARG:
//
//   struct LinearOptions {
//     LinearOptions(int64_t in, int64_t out) : in_features_(in), out_features_(out) {}
//     BG_ARG(int64_t, in_features);
//     BG_ARG(int64_t, out_features);
//     BG_ARG(bool, bias) = true;
//   };
//   LinearOptions(784, 10).bias(false).bias();   // false

#define BG_ARG(T, name)                     \
 public:                                    \
  auto& name(const T& new_##name) {         \
    name##_ = new_##name;                   \
    return *this;                           \
  }                                         \
  const T& name() const { return name##_; } \
                                            \
 private:                                   \
  T name##_
