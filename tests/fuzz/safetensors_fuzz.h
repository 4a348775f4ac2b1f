#pragma once
// What fuzzing the safetensors reader checks, shared by the libFuzzer target
// (safetensors_fuzz.cpp) and the deterministic mutation loop in tests/nn/test_serialize.cpp.
//
// Any bytes either fail to load with a bg::Error, or load into tensors that save and load again
// to the same file. Any other exception, a crash or a sanitizer report is a bug.

#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bg/nn/serialize.h"

namespace bg::fuzz {

/// Runs the check on `bytes`; returns whether they loaded. Throws std::logic_error when a file
/// that loaded does not come back the same after saving.
inline bool check_safetensors_bytes(std::string_view bytes) {
  TensorFile file;
  try {
    file = deserialize_tensors(bytes);
  } catch (const Error&) {
    return false;
  }
  const std::string saved = serialize_tensors(file.tensors, file.metadata);
  const TensorFile reloaded = deserialize_tensors(saved);
  // Serializing is deterministic and the header records every name, dtype and shape, so equal
  // bytes mean equal contents.
  if (serialize_tensors(reloaded.tensors, reloaded.metadata) != saved) {
    throw std::logic_error("safetensors fuzz: a loaded file did not survive save and load");
  }
  return true;
}

/// Small valid files covering every dtype, 0-d and empty tensors, and metadata: seeds for fuzzing.
inline std::vector<std::string> safetensors_seeds() {
  nn::OrderedDict<Tensor> mixed;
  mixed.insert("weight", arange(6, kFloat32).reshape({2, 3}));
  mixed.insert("bias", full({2}, -0.5, kFloat64));
  mixed.insert("steps", scalar_tensor(7, kInt64));
  mixed.insert("mask", tensor({true, false, true}));
  mixed.insert("empty", zeros({0, 3}));
  nn::OrderedDict<Tensor> single;
  single.insert("x", tensor({1.0, 2.0}));
  return {
      serialize_tensors(mixed, {{"format", "pt"}, {"note", "tab\t \"quote\" \xc3\xa9"}}),
      serialize_tensors(single),
      serialize_tensors({}),
  };
}

}  // namespace bg::fuzz
