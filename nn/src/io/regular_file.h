#pragma once
// Opening files for reading (private to nn): the checkpoint and data readers read regular files
// only. A FIFO would block open() until a writer comes, a device such as /dev/zero never ends, so
// the path is checked before it is opened, and opened non-blocking so that a file swapped for a
// FIFO in between cannot block either.

#include <cstdint>
#include <filesystem>
#include <string>

namespace bg::detail {

class RegularFile {
 public:
  /// Opens `path` (following symbolic links) for reading; throws bg::Error "<where>: <what>" when
  /// it cannot be opened or is not a regular file.
  RegularFile(const std::filesystem::path& path, std::string where);
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  /// The open descriptor (-1 after release()).
  int fd() const { return fd_; }
  /// The size the file had when opened.
  uint64_t size() const { return size_; }
  /// Hands the descriptor over to the caller, who must close it.
  int release();

  /// Reads `count` bytes at `offset` (which must lie within size()) into `out`; throws if the file
  /// ends early or cannot be read.
  void read(uint64_t offset, void* out, size_t count) const;
  /// Throws "<where>: <what>: <the message of errno>".
  [[noreturn]] void fail(const std::string& what) const;

 private:
  std::string where_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

}  // namespace bg::detail
