#pragma once
// Writing a file atomically (private to nn): the checkpoint writers never leave a half-written
// file under the final name.

#include <filesystem>
#include <string>

namespace bg::detail {

/// A file written under a temporary name in the destination's directory and renamed over the
/// destination once complete, so that readers never see a half-written file. The destination is
/// the file at the end of `path`'s symbolic links (the links stay); a file replaced keeps its mode,
/// a new one gets 0666 less the umask. Errors throw bg::Error "<op>: '<path>': <what>: <errno
/// message>".
class AtomicFile {
 public:
  AtomicFile(const std::filesystem::path& path, std::string op);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  /// Removes the temporary file unless commit() succeeded.
  ~AtomicFile();

  void write(const void* data, size_t size);
  /// Flushes the data to disk and renames the file over the destination.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what) const;

  std::filesystem::path path_;    // as given, for messages
  std::filesystem::path target_;  // where the file goes: path_ with its links followed
  std::string op_;
  std::string temp_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace bg::detail
