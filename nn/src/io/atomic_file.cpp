#include "io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <string_view>

#include "bg/core/error.h"
#include "io/errno_message.h"

namespace bg::detail {

// Note [Temporary files]
// The temporary file of a save to "<dir>/<name>" is "<dir>/<name>.tmp.<pid>.<n>": the pid keeps
// processes apart, the counter n the saves of one process. Its writer holds a lock on it (flock)
// until it is renamed or removed. A save that fails removes its own; one that is killed cannot, so
// every save first removes the stale temporaries of its destination: those whose pid runs no
// process here and whose lock nobody holds. Both must hold, so that the temporary of a save still
// running is never removed, even one of another pid namespace or of another host sharing the
// directory (where the pid means nothing but the lock still does); a pid reused since is only a
// temporary kept a while longer.

namespace {

std::string in_quotes(const std::string& name) { return "'" + name + "'"; }

// The pid in `name` when it names a temporary file "<prefix><pid>.<n>" (Note [Temporary files]);
// 0 otherwise.
pid_t temporary_pid(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return 0;
  name.remove_prefix(prefix.size());
  const size_t dot = name.find('.');
  const auto is_number = [](std::string_view digits) {
    return !digits.empty() && digits.size() <= 9 &&
           std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (dot == std::string_view::npos || !is_number(name.substr(0, dot)) ||
      !is_number(name.substr(dot + 1))) {
    return 0;
  }
  return static_cast<pid_t>(std::stol(std::string(name.substr(0, dot))));
}

// Removes what killed saves to `path` left behind (Note [Temporary files]); anything that goes
// wrong just leaves a file in place.
void remove_stale_temporaries(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const std::string prefix = path.filename().string() + ".tmp.";
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator(dir, error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    const pid_t pid = temporary_pid(it->path().filename().native(), prefix);
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    const int fd = ::open(it->path().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) continue;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) ::unlink(it->path().c_str());
    ::close(fd);
  }
}

// The file `path` stands for: the file at the end of its symbolic links, if it is one, so that a
// save through a link replaces what the link points at and keeps the link (the file need not exist
// yet). Empty for a loop, or a chain too long to follow.
std::filesystem::path final_target(std::filesystem::path path) {
  for (int links = 0; links < 40; ++links) {
    std::error_code error;
    if (!std::filesystem::is_symlink(path, error)) return path;
    const std::filesystem::path target = std::filesystem::read_symlink(path, error);
    if (error) return {};
    path = target.is_absolute() ? target : path.parent_path() / target;
  }
  return {};
}

}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& path, std::string op)
    : path_(path), target_(final_target(path)), op_(std::move(op)) {
  if (target_.empty()) {
    errno = ELOOP;
    fail("cannot follow its symbolic links");
  }
  remove_stale_temporaries(target_);
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0;; ++attempt) {
    temp_ = target_.string() + ".tmp." + std::to_string(::getpid()) + "." +
            std::to_string(counter.fetch_add(1));
    // 0666 less the umask for a new file, as any program creating one.
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ >= 0) break;
    if (errno != EEXIST || attempt == 100)
      fail("cannot create the temporary file " + in_quotes(temp_));
  }
  // Held until the file is renamed or removed: the mark of a save in progress. A file system
  // without locks leaves the pid alone to tell.
  ::flock(fd_, LOCK_EX | LOCK_NB);
  // The file replaced keeps its mode (a private checkpoint stays private) and, where this process
  // may set them, its owner and group.
  struct stat replaced {};
  if (::stat(target_.c_str(), &replaced) == 0) {
    if (::fchmod(fd_, replaced.st_mode & 07777) != 0) fail("cannot set the mode of " + temp_);
    // Only the owner and group this process may give: not getting them is no error.
    const int owner_kept = ::fchown(fd_, replaced.st_uid, replaced.st_gid);
    (void)owner_kept;
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
  if (::rename(temp_.c_str(), target_.c_str()) != 0) {
    fail("cannot rename " + in_quotes(temp_) + " to the destination");
  }
  committed_ = true;
}

void AtomicFile::fail(const std::string& what) const {
  const int error = errno;
  throw Error(concat(op_, ": ", in_quotes(path_.string()), ": ", what, ": ", errno_message(error)));
}

}  // namespace bg::detail
