# cmake -DCOMMAND=<;-list> -DEXPECT_EXIT=<code> -DEXPECT_REGEX=<regex> [-DREJECT_REGEX=<regex>] -P expect_output.cmake
# Runs a command and checks both its exit code and its combined output.
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(NOT code STREQUAL EXPECT_EXIT)
  message(FATAL_ERROR "exit code ${code}, expected ${EXPECT_EXIT}; output:\n${all}")
endif()
if(NOT all MATCHES "${EXPECT_REGEX}")
  message(FATAL_ERROR "output does not match '${EXPECT_REGEX}':\n${all}")
endif()
if(DEFINED REJECT_REGEX AND all MATCHES "${REJECT_REGEX}")
  message(FATAL_ERROR "output matches '${REJECT_REGEX}', which it must not:\n${all}")
endif()
message(STATUS "ok: ${all}")
