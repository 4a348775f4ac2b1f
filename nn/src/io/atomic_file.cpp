#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "bg/core/error.h"
#include "io/errno_message.h"

namespace bg::detail {

namespace {
std::string in_quotes(const std::string& name) { return "'" + name + "'"; }
}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& path, std::string op)
    : path_(path), op_(std::move(op)) {
  // The pid keeps processes apart, the counter threads; O_EXCL skips leftovers of a crash.
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0;; ++attempt) {
    temp_ = path.string() + ".tmp." + std::to_string(::getpid()) + "." +
            std::to_string(counter.fetch_add(1));
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) return;
    if (errno != EEXIST || attempt == 100)
      fail("cannot create the temporary file " + in_quotes(temp_));
  }
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void AtomicFile::write(const void* data, size_t size) {
  const char* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t written = ::write(fd_, bytes, size);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) fail("cannot write " + in_quotes(temp_));
    bytes += written;
    size -= static_cast<size_t>(written);
  }
}

// The data reaches the disk before the rename, so that a crash leaves the old file or the new one,
// never an empty one under the final name.
void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail("cannot flush " + in_quotes(temp_));
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot close " + in_quotes(temp_));
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    fail("cannot rename " + in_quotes(temp_) + " to the destination");
  }
  committed_ = true;
}

void AtomicFile::fail(const std::string& what) const {
  const int error = errno;
  throw Error(concat(op_, ": ", in_quotes(path_.string()), ": ", what, ": ", errno_message(error)));
}

}  // namespace bg::detail
