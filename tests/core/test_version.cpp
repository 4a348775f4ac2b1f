// bg/version.h: the version CMake's project() declares, in the headers and in the library.

#include <string>

#include "test_util.h"

TEST_CASE("version: the library's version is the headers' version") {
  const std::string parts = std::to_string(BG_VERSION_MAJOR) + "." +
                            std::to_string(BG_VERSION_MINOR) + "." +
                            std::to_string(BG_VERSION_PATCH);
  CHECK(parts == BG_VERSION_STRING);
  CHECK(std::string(bg::version()) == BG_VERSION_STRING);
}
