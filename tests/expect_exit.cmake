# Runs COMMAND (a ;-list) and checks how it ends: with exit status EXIT (a number, or "failure" for
# any non-zero status) within TIMEOUT seconds, and with output (stdout and stderr) matching EXPECT:
# a program that must end with a clear message, not hang, crash or succeed by mistake.
#   cmake "-DCOMMAND=mpirun;-np;2;prog" -DEXIT=failure "-DEXPECT=regex" -DTIMEOUT=60 -P expect_exit.cmake
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE result OUTPUT_VARIABLE output
                ERROR_VARIABLE output TIMEOUT ${TIMEOUT})
message("${output}")
if(NOT result MATCHES "^[0-9]+$")
  message(FATAL_ERROR "the program did not end by itself: ${result}")
elseif(EXIT STREQUAL "failure" AND result STREQUAL "0")
  message(FATAL_ERROR "the program succeeded; it should have failed")
elseif(NOT EXIT STREQUAL "failure" AND NOT result STREQUAL EXIT)
  message(FATAL_ERROR "the program ended with exit status ${result}, expected ${EXIT}")
elseif(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "the program ended (exit ${result}) without the expected output: ${EXPECT}")
endif()
