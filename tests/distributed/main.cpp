// The dist suite runs under mpirun (tests/distributed/CMakeLists.txt): every rank runs every test
// case, and the cases call the collectives in the same order on all ranks. Cases use CHECK, never
// REQUIRE, so that a failure on one rank does not skip collectives the other ranks then wait in.

#define DOCTEST_CONFIG_IMPLEMENT
#include <bg/dist.h>
#include <doctest/doctest.h>

int main(int argc, char** argv) {
  bg::dist::init();
  doctest::Context context(argc, argv);
  return context.run();
}
