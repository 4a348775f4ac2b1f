# Checks that README.md's first C++ block is examples/readme.cpp, line for line: the program the
# README opens with is the one this build compiles (and ctest runs).
#
#   cmake -DREADME=README.md -DSOURCE=examples/readme.cpp -P examples/readme_check.cmake
file(READ "${README}" readme)
string(FIND "${readme}" "```cpp\n" start)
if(start EQUAL -1)
  message(FATAL_ERROR "${README} has no ```cpp block")
endif()
math(EXPR start "${start} + 7")
string(SUBSTRING "${readme}" ${start} -1 rest)
string(FIND "${rest}" "```" end)
string(SUBSTRING "${rest}" 0 ${end} block)
file(READ "${SOURCE}" source)
if(NOT block STREQUAL source)
  message(FATAL_ERROR "README.md's first C++ block differs from ${SOURCE}; copy one to the other.\n"
                      "--- README.md ---\n${block}--- ${SOURCE} ---\n${source}")
endif()
