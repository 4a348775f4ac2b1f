# Builds TARGET in BUILD_DIR, which must fail, and checks the compiler's output: the first error
# line must match FIRST_ERROR, and every regular expression in NAMED (a ;-list) must match the
# first lines of the diagnostic: the lines before the first error (GCC names the instantiation,
# with its types, there), that line and the four after it (clang's notes follow the error).
#
#   cmake -DBUILD_DIR=... -DTARGET=... -DFIRST_ERROR=... "-DNAMED=a;b" -P expect_compile_error.cmake
#
# tests/CMakeLists.txt's bg_expect_compile_error() makes such a test from a source file.
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(result EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must not")
endif()
string(FIND "${output}" "error:" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${TARGET} failed without a compiler error:\n${output}")
endif()
string(SUBSTRING "${output}" ${at} -1 from_error)
string(REGEX MATCH "^[^\n]*" first_error "${from_error}")
if(NOT first_error MATCHES "${FIRST_ERROR}")
  message(FATAL_ERROR "the first error does not match \"${FIRST_ERROR}\":\n${output}")
endif()
string(SUBSTRING "${output}" 0 ${at} head)
string(REGEX MATCH "^[^\n]*(\n[^\n]*)?(\n[^\n]*)?(\n[^\n]*)?(\n[^\n]*)?" after "${from_error}")
string(APPEND head "${after}")
foreach(expected IN LISTS NAMED)
  if(NOT head MATCHES "${expected}")
    message(FATAL_ERROR "the first lines of the diagnostic do not match \"${expected}\":\n${head}")
  endif()
endforeach()
message(STATUS "${TARGET}: ${first_error}")
