# Builds one compile-fail target and checks that the build FAILS with every expected text in its output.
# A bare "it did not compile" would also pass on a typo; matching the message proves the right check fired.
# Usage: cmake -DBUILD_DIR=... -DTARGET=... -DEXPECT="text1;text2;!absent text" -P check.cmake
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "${TARGET} compiled, but it must not")
endif()
# A text starting with "!" must NOT be in the output: a second, misleading message is a bug too.
foreach(text IN LISTS EXPECT)
  if(text MATCHES "^!(.*)$")
    string(FIND "${all}" "${CMAKE_MATCH_1}" pos)
    if(NOT pos EQUAL -1)
      message(FATAL_ERROR "${TARGET} failed to compile, but its output has \"${CMAKE_MATCH_1}\":\n${all}")
    endif()
    continue()
  endif()
  string(FIND "${all}" "${text}" pos)
  if(pos EQUAL -1)
    message(FATAL_ERROR "${TARGET} failed to compile, but its output lacks \"${text}\":\n${all}")
  endif()
endforeach()
message(STATUS "${TARGET}: failed as expected")
