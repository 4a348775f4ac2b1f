// What the readers and writers of files do at the level of the file system: special files are
// refused without blocking, and saving leaves nothing behind, keeps the mode of the file it
// replaces and writes through symbolic links.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
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
