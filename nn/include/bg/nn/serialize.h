#pragma once
// Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), which
// Python's `safetensors` package and PyTorch users read and write:
//
//   8 bytes      N, the header length (little-endian unsigned)
//   N bytes      UTF-8 JSON: {"fc.weight": {"dtype": "F32", "shape": [20, 1],
//                             "data_offsets": [0, 80]}, ..., "__metadata__": {"key": "value"}}
//   the rest     the tensors' bytes, little-endian and row-major; offsets count from here
//
//   bg::save(*net, "net.safetensors", {{"epoch", "3"}});
//   auto metadata = bg::load(*net, "net.safetensors");   // metadata["epoch"] == "3"
//
// bayesgrad reads and writes the dtypes it has: F32, F64, I64 and BOOL. It also reads F16 and BF16
// (PyTorch's half and bfloat16) into float32 tensors, exactly, and writes floats as F16 or BF16 on
// request (SaveOptions), which halves the size of a float32 checkpoint. Reading checks the whole
// file before it builds a tensor, and every problem is a bg::Error naming the file and the entry
// or byte offset at fault.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "bg/core.h"
#include "bg/core/api.h"
#include "bg/nn/holder.h"
#include "bg/nn/module.h"
#include "bg/nn/optim/optimizer.h"
#include "bg/nn/options.h"
#include "bg/nn/ordered_dict.h"

BG_API_BEGIN

namespace bg {

/// The contents of a safetensors file: tensors in the header's order, and the string metadata.
struct TensorFile {
  nn::OrderedDict<Tensor> tensors;
  std::map<std::string, std::string> metadata;
  /// The tensors the file stores in a dtype bayesgrad lacks, with its code ("F16", "BF16"): they
  /// were read into float32.
  std::map<std::string, std::string> stored_as;
};

/// How floating-point tensors are stored: in their own dtype, or rounded to a 16-bit format.
enum class FloatFormat { Keep, F16, BF16 };

/// Options of save_tensors, serialize_tensors and save(module).
struct SaveOptions {
  /// F16 or BF16 stores every float32 and float64 tensor in half the bytes of float32, rounded to
  /// nearest even as PyTorch's .half() and .bfloat16() do (F16: 11 significant bits, values
  /// beyond 65504 become infinite; BF16: 8 significant bits, float32's range). Keep (the default)
  /// stores each tensor in its own dtype. Integer and bool tensors are always kept.
  BG_ARG(FloatFormat, float_format) = FloatFormat::Keep;
};

/// Writes `tensors` (copied to the CPU, contiguous) and `metadata` to `path` atomically: a
/// temporary file in the same directory is written, flushed and then renamed over `path`.
void save_tensors(const std::filesystem::path& path, const nn::OrderedDict<Tensor>& tensors,
                  const std::map<std::string, std::string>& metadata = {},
                  const SaveOptions& options = {});
/// Reads a safetensors file; throws bg::Error, naming the file and the offending entry or byte
/// offset, for anything malformed or of a dtype bayesgrad lacks.
TensorFile load_tensors(const std::filesystem::path& path);

/// The bytes save_tensors writes, in memory.
std::string serialize_tensors(const nn::OrderedDict<Tensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {},
                              const SaveOptions& options = {});
/// Reads the bytes of a safetensors file held in memory; `name` stands for the file in messages.
TensorFile deserialize_tensors(std::string_view bytes, const std::string& name = "<memory>");

/// Saves the module's state_dict(): its parameters and persistent buffers.
void save(const nn::Module& module, const std::filesystem::path& path,
          const std::map<std::string, std::string>& metadata = {}, const SaveOptions& options = {});
/// Loads a file written by save() (or by PyTorch's safetensors) into the module with
/// load_state_dict(strict); returns the file's metadata. On any error the module is unchanged,
/// and the message names the tensors the file stores as F16 or BF16.
std::map<std::string, std::string> load(nn::Module& module, const std::filesystem::path& path,
                                        bool strict = true);
/// The tensors of a safetensors file by name.
nn::OrderedDict<Tensor> load(const std::filesystem::path& path);

/// The metadata key of an optimizer checkpoint, holding the optimizer's name ("Adam", ...); the
/// hyperparameters of its groups are under kOptimizerKey + ".param_groups" as JSON.
inline constexpr const char* kOptimizerKey = "bayesgrad.optimizer";

/// Saves the optimizer's state_dict(): the per-parameter buffers and step counts as tensors
/// ("state.<i>.exp_avg", ...), its name and each group's hyperparameters in the metadata, beside
/// `metadata`. Training resumes exactly from load() into an optimizer over the same parameters.
void save(const optim::Optimizer& optimizer, const std::filesystem::path& path,
          const std::map<std::string, std::string>& metadata = {});
/// Restores an optimizer saved by save() into `optimizer`, of the same kind and over parameters
/// of the same shapes (load_state_dict); returns the file's metadata. Throws bg::Error naming the
/// file for one that is not an optimizer checkpoint, or is one of another optimizer; the optimizer
/// is then unchanged.
std::map<std::string, std::string> load(optim::Optimizer& optimizer,
                                        const std::filesystem::path& path);

/// save() and load() for module holders (nn::Linear, ...).
template <typename Impl>
void save(const nn::ModuleHolder<Impl>& module, const std::filesystem::path& path,
          const std::map<std::string, std::string>& metadata = {},
          const SaveOptions& options = {}) {
  save(*module, path, metadata, options);
}
template <typename Impl>
std::map<std::string, std::string> load(const nn::ModuleHolder<Impl>& module,
                                        const std::filesystem::path& path, bool strict = true) {
  return load(*module, path, strict);
}

}  // namespace bg

BG_API_END
