// libFuzzer target for optimizer checkpoints: the input is a whole safetensors file (its seeds are
// checkpoints of Adam and SGD), loaded into an Adam and an SGD over the same small model; see
// reader_fuzz.h.

#include <cstddef>
#include <cstdint>

#include "bg/nn.h"
#include "bg/nn/serialize.h"
#include "reader_fuzz.h"
#include "seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const bg::fuzz::BytesFile file({reinterpret_cast<const char*>(data), size}, ".safetensors");
  bg::nn::Linear net = bg::fuzz::seed_model();
  bg::optim::Adam adam(net->parameters(), bg::optim::AdamOptions(0.1));
  bg::optim::SGD sgd(net->parameters(), bg::optim::SGDOptions(0.1).momentum(0.9));
  // A checkpoint that loads must leave an optimizer that can step.
  if (bg::fuzz::loads([&] { bg::load(adam, file.path()); })) bg::fuzz::train_step(net, adam);
  if (bg::fuzz::loads([&] { bg::load(sgd, file.path()); })) bg::fuzz::train_step(net, sgd);
  return 0;
}
