#include "io/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "bg/core/error.h"
#include "io/errno_message.h"

namespace bg::detail {

RegularFile::RegularFile(const std::filesystem::path& path, std::string where)
    : where_(std::move(where)) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) fail("cannot open the file");
  if (!S_ISREG(info.st_mode)) throw Error(where_ + ": not a regular file");
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) fail("cannot open the file");
  // What was opened may not be what was checked: check again, on the descriptor.
  const bool stat_ok = ::fstat(fd_, &info) == 0;
  const int error = errno;
  if (!stat_ok || !S_ISREG(info.st_mode)) {
    ::close(fd_);  // the destructor does not run when the constructor throws
    errno = error;
    if (!stat_ok) fail("cannot read the file's size");
    throw Error(where_ + ": not a regular file");
  }
  size_ = static_cast<uint64_t>(info.st_size);
}

RegularFile::~RegularFile() {
  if (fd_ >= 0) ::close(fd_);
}

int RegularFile::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

void RegularFile::read(uint64_t offset, void* out, size_t count) const {
  char* bytes = static_cast<char*>(out);
  while (count > 0) {
    const ssize_t got = ::pread(fd_, bytes, count, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail(concat("cannot read at byte ", offset));
    BG_CHECK(got > 0, where_, "the file ended at byte ", offset, ", before the ", size_,
             " bytes it had when opened (did it change while being read?)");
    bytes += got;
    offset += static_cast<uint64_t>(got);
    count -= static_cast<size_t>(got);
  }
}

void RegularFile::fail(const std::string& what) const {
  throw Error(where_ + ": " + what + ": " + errno_message(errno));
}

}  // namespace bg::detail
