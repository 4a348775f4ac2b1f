// libFuzzer target for the description of a BNN checkpoint (bayes/checkpoint.h): the input is the
// JSON stored under bayes::kCheckpointKey, saved beside the state of a small BNN and loaded with
// bayes::load; see reader_fuzz.h.

#include <cstddef>
#include <cstdint>

#include "bg/bayes.h"
#include "bg/nn/serialize.h"
#include "reader_fuzz.h"
#include "seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bg::TensorFile saved = bg::fuzz::seed_bnn_checkpoint();
  std::map<std::string, std::string> metadata = saved.metadata;
  metadata[bg::bayes::kCheckpointKey] = std::string(reinterpret_cast<const char*>(data), size);
  std::string bytes;
  if (!bg::fuzz::loads([&] { bytes = bg::serialize_tensors(saved.tensors, metadata); })) return 0;
  const bg::fuzz::BytesFile file(bytes, ".safetensors");
  bg::fuzz::loads([&] { bg::bayes::load(bg::fuzz::seed_model(), file.path()); });
  return 0;
}
