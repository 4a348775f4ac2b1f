#pragma once
// What fuzzing the file readers checks, shared by their libFuzzer targets (*_fuzz.cpp): any bytes
// either load or fail with a bg::Error. Any other exception, a crash, a hang or a sanitizer report
// is a bug. The readers that take a path read the bytes from a file of this process.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "bg/core/error.h"

namespace bg::fuzz {

/// A file of this process holding `bytes`, removed when it goes out of scope.
class BytesFile {
 public:
  BytesFile(std::string_view bytes, const std::string& suffix)
      : path_(std::filesystem::temp_directory_path() /
              ("bg_fuzz_" + std::to_string(::getpid()) + suffix)) {
    std::ofstream(path_, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  ~BytesFile() { std::filesystem::remove(path_); }
  BytesFile(const BytesFile&) = delete;
  BytesFile& operator=(const BytesFile&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Runs `load`; returns whether it succeeded, false for a bg::Error. Anything else propagates.
template <typename Load>
bool loads(Load load) {
  try {
    load();
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace bg::fuzz
