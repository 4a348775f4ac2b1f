# Runs COMMAND (a ;-list), and succeeds only when it fails (non-zero exit) within TIMEOUT seconds
# with output matching EXPECT: a job that must end with a clear error, or code that must not compile.
#   cmake -DCOMMAND="mpirun;-np;2;prog" -DEXPECT="regex" -DTIMEOUT=60 -P expect_failure.cmake
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE result OUTPUT_VARIABLE output
                ERROR_VARIABLE output TIMEOUT ${TIMEOUT})
message("${output}")
if(result STREQUAL "0")
  message(FATAL_ERROR "the job succeeded; it should have failed")
elseif(NOT result MATCHES "^[0-9]+$")
  message(FATAL_ERROR "the job did not end by itself: ${result}")
elseif(NOT output MATCHES "${EXPECT}")
  message(FATAL_ERROR "the job failed (exit ${result}) without the expected message: ${EXPECT}")
endif()
