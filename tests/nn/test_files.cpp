// What the readers and writers of files do at the level of the file system: special files are
// refused without blocking, and saving leaves nothing behind, keeps the mode of the file it
// replaces and writes through symbolic links.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <future>

#include "bg/nn.h"
#include "bg/nn/serialize.h"
#include "temp_dir.h"
#include "test_util.h"

using namespace bg;
using test::check_error;
using test::TempDir;

namespace {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

nn::OrderedDict<Tensor> some_tensors() {
  nn::OrderedDict<Tensor> tensors;
  tensors.insert("x", tensor({1.0f, 2.0f}));
  return tensors;
}

// Runs `read`, which must throw bg::Error containing `parts` without waiting for a writer on the
// FIFO `fifo`. Should it block, the test fails and a writer opens the FIFO to release it.
void check_refused_without_blocking(const std::filesystem::path& fifo,
                                    const std::vector<std::string>& parts,
                                    const std::function<void()>& read) {
  auto done = std::async(std::launch::async, [&] { check_error(parts, read); });
  if (done.wait_for(std::chrono::seconds(20)) == std::future_status::ready) {
    done.get();
    return;
  }
  FAIL_CHECK("reading the FIFO ", fifo, " blocked");
  // A writer that comes and goes lets the blocked open() return, and reads then see the end.
  const int writer = ::open(fifo.c_str(), O_WRONLY);
  if (writer >= 0) ::close(writer);
  done.wait();
}

}  // namespace

TEST_CASE("files: a FIFO or a device is refused before it is opened, without blocking") {
  TempDir dir;
  const std::filesystem::path fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  check_refused_without_blocking(fifo, {"load_tensors", "pipe", "not a regular file"},
                                 [&] { load_tensors(fifo); });
  nn::Linear linear(2, 1);
  check_refused_without_blocking(fifo, {"not a regular file"}, [&] { load(linear, fifo); });
  check_refused_without_blocking(fifo, {"read_idx", "pipe", "not a regular file"},
                                 [&] { data::read_idx(fifo); });
  check_refused_without_blocking(fifo, {"read_csv", "pipe", "not a regular file"},
                                 [&] { data::read_csv(fifo); });
  // A device that never ends.
  check_error({"read_csv", "/dev/zero", "not a regular file"}, [] { data::read_csv("/dev/zero"); });
  check_error({"read_idx", "/dev/zero", "not a regular file"}, [] { data::read_idx("/dev/zero"); });
}

TEST_CASE("files: a failed save removes its temporary file; a later save clears stale ones") {
  TempDir dir;
  const std::filesystem::path path = dir / "model.safetensors";
  // The rename fails: the destination is a directory that is not empty.
  std::filesystem::create_directories(path / "inside");
  check_error({"save_tensors", "cannot rename"}, [&] { save_tensors(path, some_tensors()); });
  CHECK(dir.files() == std::vector<std::string>{"model.safetensors"});
  std::filesystem::remove_all(path);

  // What saves that were killed leave behind: temporaries named after a process that is gone.
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  REQUIRE(gone > 0);
  REQUIRE(::waitpid(gone, nullptr, 0) == gone);
  const std::string stale = "model.safetensors.tmp." + std::to_string(gone);
  write_text(dir / (stale + ".0"), "half a checkpoint");
  write_text(dir / (stale + ".7"), "");
  // Files that are not stale temporaries of this destination stay: one of a process that runs
  // (this one), another destination's, and names of another pattern.
  const std::string running = "model.safetensors.tmp." + std::to_string(::getpid()) + ".99";
  const std::string other = "other.safetensors.tmp." + std::to_string(gone) + ".0";
  for (const std::string& name : {running, other, std::string("model.safetensors.tmp.notes"),
                                  std::string("model.safetensors.tmp.1.2.3")}) {
    write_text(dir / name, "keep");
  }
  save_tensors(path, some_tensors());
  std::vector<std::string> expected{"model.safetensors", running, other,
                                    "model.safetensors.tmp.1.2.3", "model.safetensors.tmp.notes"};
  std::sort(expected.begin(), expected.end());
  CHECK(dir.files() == expected);
}

namespace {
mode_t mode_of(const std::filesystem::path& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}
}  // namespace

TEST_CASE("files: saving over a file keeps its mode; a new file honours the umask") {
  TempDir dir;
  const std::filesystem::path path = dir / "model.safetensors";
  const mode_t umask_before = ::umask(022);
  save_tensors(path, some_tensors());
  CHECK(mode_of(path) == 0644);
  ::umask(077);
  save_tensors(dir / "private.safetensors", some_tensors());
  CHECK(mode_of(dir / "private.safetensors") == 0600);
  // A checkpoint someone made private stays private when saved over, whatever the umask.
  ::umask(022);
  for (const mode_t mode : {0600, 0640, 0444}) {
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    save_tensors(path, some_tensors());
    CHECK(mode_of(path) == mode);
  }
  ::umask(umask_before);
}

TEST_CASE("files: saving through a symbolic link writes the file it points at") {
  TempDir dir;
  std::filesystem::create_directories(dir / "runs");
  const std::filesystem::path target = dir / "runs" / "epoch3.safetensors";
  save_tensors(target, some_tensors());
  // latest -> runs/epoch3.safetensors (relative), best -> latest (a chain).
  std::filesystem::create_symlink("runs/epoch3.safetensors", dir / "latest");
  std::filesystem::create_symlink("latest", dir / "best");
  nn::OrderedDict<Tensor> update;
  update.insert("y", tensor({3.0}));
  save_tensors(dir / "best", update);
  CHECK(std::filesystem::is_symlink(dir / "best"));
  CHECK(std::filesystem::is_symlink(dir / "latest"));
  CHECK(load_tensors(target).tensors.keys() == std::vector<std::string>{"y"});
  CHECK(dir.files() == std::vector<std::string>{"best", "latest", "runs"});
  // A link to a file not written yet: the file is created where it points.
  std::filesystem::create_symlink("runs/next.safetensors", dir / "next");
  save_tensors(dir / "next", update);
  CHECK(std::filesystem::is_symlink(dir / "next"));
  CHECK(load_tensors(dir / "runs" / "next.safetensors").tensors.size() == 1);
  // A loop of links is an error naming the path.
  std::filesystem::create_symlink("loop_b", dir / "loop_a");
  std::filesystem::create_symlink("loop_a", dir / "loop_b");
  check_error({"save_tensors", "loop_a", "links"}, [&] { save_tensors(dir / "loop_a", update); });
}
