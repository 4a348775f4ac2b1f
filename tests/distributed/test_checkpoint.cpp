// on_rank0: one rank writes, every rank waits for it, and a failure is every rank's error.

#include <bg/dist.h>
#include <bg/nn.h>

#include <filesystem>

#include "test_util.h"

using namespace bg;
using namespace bg::test;

TEST_CASE("on_rank0 runs on rank 0 only and returns once the file is written") {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / "bg_dist_test_checkpoint.safetensors";
  nn::Linear lin(2, 2);
  int calls = 0;
  dist::on_rank0([&] {
    ++calls;
    bg::save(*lin, path);
  });
  CHECK(calls == (dist::rank() == 0 ? 1 : 0));
  CHECK(std::filesystem::exists(path));
  dist::barrier();  // every rank has looked before rank 0 removes it
  dist::on_rank0([&] { std::filesystem::remove(path); });
}

TEST_CASE("an exception on rank 0 in on_rank0 is an error on every rank") {
  CHECK_THROWS_WITH_AS(dist::on_rank0([] { throw Error("save: disk full"); }),
                       doctest::Contains("rank 0 failed to write: save: disk full"), Error);
}
