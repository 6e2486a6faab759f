# Packaging test, run by ctest as `cmake -D... -P package_test.cmake`. Builds and runs tests/cmake/consumer
# against keel the two ways users get it:
#   MODE=find_package      cmake --install the keel build into a fresh prefix, find_package(keel) from there
#   MODE=add_subdirectory  add_subdirectory(<keel source tree>)
# and VARIANT (tests/cmake/consumer/CMakeLists.txt) picks the components it uses:
#   full      keel::keel
#   core      keel::core, with simdjson, Boost, SQLite3, OpenSSL, libpq and pkg-config hidden from CMake
#   json_sql  keel::json + keel::sql, with OpenSSL, libpq and pkg-config hidden
#   app       keel::keel through keel_add_app(): a precompiled header and a separately compiled Asio
# Inputs: MODE, VARIANT, KEEL_SOURCE_DIR, KEEL_BINARY_DIR, WORK_DIR, CXX_COMPILER, GENERATOR, [LAUNCHER],
# [BUILD_TYPE]
foreach(var MODE VARIANT KEEL_SOURCE_DIR KEEL_BINARY_DIR WORK_DIR CXX_COMPILER GENERATOR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "package_test: -D${var}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Release)
endif()

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "package_test (${MODE}): ${what} failed (${rc}):\n${out}")
  endif()
  message(STATUS "package_test (${MODE}): ${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(consumer_args
  -S "${KEEL_SOURCE_DIR}/tests/cmake/consumer" -B "${WORK_DIR}/build" -G "${GENERATOR}"
  "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF "-DKEEL_CONSUMER=${VARIANT}")
if(VARIANT STREQUAL "core")
  set(hidden simdjson Boost SQLite3 OpenSSL PostgreSQL PkgConfig)
elseif(VARIANT STREQUAL "json_sql")
  set(hidden OpenSSL PostgreSQL PkgConfig)
else()
  set(hidden "")
endif()
foreach(package IN LISTS hidden)
  list(APPEND consumer_args "-DCMAKE_DISABLE_FIND_PACKAGE_${package}=ON")
endforeach()
if(LAUNCHER)
  list(APPEND consumer_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
endif()

if(MODE STREQUAL "find_package")
  set(prefix "${WORK_DIR}/prefix")
  run_step("install keel" "${CMAKE_COMMAND}" --install "${KEEL_BINARY_DIR}" --prefix "${prefix}" --component keel)
  foreach(installed include/keel.hpp include/keel/config.hpp share/cmake/keel/keel-config.cmake
          share/cmake/keel/keel-config-version.cmake share/cmake/keel/keel-targets.cmake
          share/cmake/keel/keel-core-targets.cmake share/cmake/keel/keel-json-targets.cmake
          share/cmake/keel/keel-sql-targets.cmake share/cmake/keel/keel-tls-targets.cmake
          share/cmake/keel/KeelDependencies.cmake share/cmake/keel/KeelApp.cmake)
    if(NOT EXISTS "${prefix}/${installed}")
      message(FATAL_ERROR "package_test: ${installed} was not installed")
    endif()
  endforeach()
  # An installed package must not point back into the source or build tree.
  file(GLOB package_files "${prefix}/share/cmake/keel/*.cmake")
  foreach(file IN LISTS package_files)
    file(READ "${file}" text)
    foreach(tree "${KEEL_SOURCE_DIR}" "${KEEL_BINARY_DIR}")
      string(FIND "${text}" "${tree}" at)
      if(NOT at EQUAL -1)
        message(FATAL_ERROR "package_test: ${file} refers to ${tree}")
      endif()
    endforeach()
  endforeach()
  run_step("configure consumer" "${CMAKE_COMMAND}" ${consumer_args} "-DCMAKE_PREFIX_PATH=${prefix}")
  string(FIND "${step_output}" "in ${prefix}/share/cmake/keel" found_at)
  if(found_at EQUAL -1)
    message(FATAL_ERROR "package_test: the consumer did not find the keel installed in ${prefix}:\n${step_output}")
  endif()
elseif(MODE STREQUAL "add_subdirectory")
  run_step("configure consumer" "${CMAKE_COMMAND}" ${consumer_args} "-DKEEL_VIA_SUBDIRECTORY=${KEEL_SOURCE_DIR}")
else()
  message(FATAL_ERROR "package_test: unknown MODE '${MODE}'")
endif()

run_step("build consumer" "${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
run_step("run consumer" "${WORK_DIR}/build/consumer")
message(STATUS "${step_output}")
if(NOT step_output MATCHES "consumer: ok")
  message(FATAL_ERROR "package_test: the consumer did not report success")
endif()
