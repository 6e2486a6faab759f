# keel's test infrastructure, included by tests/CMakeLists.txt: the shared Catch2 main with its precompiled
# header, single-header test builds, and the checks that are not unit tests (amalgamation up to date,
# packaging via find_package/add_subdirectory, ODR across translation units).
find_package(Python3 COMPONENTS Interpreter)

# Third-party and standard headers most tests pull in. Never keel's own: those are compiled in every test
# so that keel's changes rebuild only what they touch, and warnings in them still show.
set(KEEL_TEST_PCH_HEADERS
  <catch2/catch.hpp> <asio.hpp> <simdjson.h> <boost/pfr.hpp>
  <algorithm> <array> <atomic> <chrono> <coroutine> <cstdint> <cstring> <functional> <map> <memory>
  <optional> <span> <string> <string_view> <thread> <tuple> <unordered_map> <utility> <variant> <vector>)

# The Catch2 main, compiled once and linked into both test mains. It must not see the precompiled
# catch.hpp: CATCH_CONFIG_MAIN has to come before the first include of it.
add_library(keel_catch_main OBJECT "${PROJECT_SOURCE_DIR}/tests/catch_main.cpp")
target_link_libraries(keel_catch_main PUBLIC Catch2::Catch2 keel_warnings)

# keel_add_test_main(<target> <keel target> [extra pch headers...]): a static library with the Catch2 main
# whose precompiled header every test linking it reuses.
function(keel_add_test_main target keel_target)
  # CMake builds a precompiled header only for a target with a C++ source of its own.
  set(anchor "${CMAKE_CURRENT_BINARY_DIR}/${target}_pch.cpp")
  file(CONFIGURE OUTPUT "${anchor}" CONTENT "// Generated: gives ${target} the C++ source its precompiled header needs.\n")
  add_library(${target} STATIC "${anchor}" $<TARGET_OBJECTS:keel_catch_main>)
  target_link_libraries(${target} PUBLIC Catch2::Catch2 ${keel_target} keel_warnings)
  target_precompile_headers(${target} PRIVATE ${KEEL_TEST_PCH_HEADERS} ${ARGN})
  if(KEEL_USES_CCACHE AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # ccache only caches clang's PCH when it carries no timestamp.
    target_compile_options(${target} PUBLIC -Xclang -fno-pch-timestamp)
  endif()
endfunction()

# --- single-header builds
if(KEEL_SINGLE_HEADER_TESTS)
  keel_add_test_main(keel_test_main_single keel_single <keel.hpp>)
endif()

# keel_single_header_test(name [extra sources...]): builds tests/<name>.cpp a second time, unchanged, as
# <name>_single against single_include/keel.hpp alone, and registers its TEST_CASEs with ctest.
function(keel_single_header_test name)
  if(NOT KEEL_SINGLE_HEADER_TESTS)
    return()
  endif()
  add_executable(${name}_single "${CMAKE_CURRENT_SOURCE_DIR}/${name}.cpp" ${ARGN})
  target_link_libraries(${name}_single PRIVATE keel_test_main_single)
  target_precompile_headers(${name}_single REUSE_FROM keel_test_main_single)
  catch_discover_tests(${name}_single TEST_PREFIX "${name}_single: " PROPERTIES TIMEOUT 120)
endfunction()

# --- the committed single header matches include/
if(Python3_Interpreter_FOUND)
  add_test(NAME amalgamate_check COMMAND "${Python3_EXECUTABLE}" "${PROJECT_SOURCE_DIR}/scripts/amalgamate" --check)
  # The README's code blocks are the compiled files they name (examples/tour/, examples/*.cpp).
  add_test(NAME doc_snippets COMMAND "${Python3_EXECUTABLE}" "${PROJECT_SOURCE_DIR}/scripts/doc-snippets")
  # Every TEST_CASE tagged, tests/CMakeLists.txt's list sorted, every test file built.
  add_test(NAME test_conventions COMMAND "${Python3_EXECUTABLE}" "${PROJECT_SOURCE_DIR}/tests/conventions/check.py")
endif()

# --- ODR: two translation units that include all of keel, linked together
add_executable(odr_test
  "${PROJECT_SOURCE_DIR}/tests/odr/a.cpp" "${PROJECT_SOURCE_DIR}/tests/odr/b.cpp"
  "${PROJECT_SOURCE_DIR}/tests/odr/main.cpp")
target_link_libraries(odr_test PRIVATE keel::keel keel_warnings)
add_test(NAME odr_test COMMAND odr_test)
set_tests_properties(odr_test PROPERTIES PASS_REGULAR_EXPRESSION "odr_test: ok")

# --- packaging: a consumer project built against the installed package and against the source tree
set(_keel_package_launcher "")
if(KEEL_USES_CCACHE)
  find_program(KEEL_CCACHE_PROGRAM ccache)
  set(_keel_package_launcher "${KEEL_CCACHE_PROGRAM}")
endif()
foreach(_keel_mode find_package add_subdirectory)
  foreach(_keel_variant full core json_sql app)
    add_test(NAME package_${_keel_mode}_${_keel_variant} COMMAND "${CMAKE_COMMAND}"
      -D MODE=${_keel_mode}
      -D VARIANT=${_keel_variant}
      -D "KEEL_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
      -D "KEEL_BINARY_DIR=${PROJECT_BINARY_DIR}"
      -D "WORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/package/${_keel_mode}_${_keel_variant}"
      -D "CXX_COMPILER=${CMAKE_CXX_COMPILER}"
      -D "GENERATOR=${CMAKE_GENERATOR}"
      -D "LAUNCHER=${_keel_package_launcher}"
      -P "${PROJECT_SOURCE_DIR}/tests/cmake/package_test.cmake")
    set_tests_properties(package_${_keel_mode}_${_keel_variant} PROPERTIES TIMEOUT 900 LABELS packaging)
  endforeach()
endforeach()

# --- every header compiles on its own
# The tests' precompiled header puts the standard library and the third-party headers in front of every
# test, which would hide a keel header that forgets an include. These TUs include exactly one header each.
option(KEEL_HEADER_CHECKS "Compile each header under include/keel on its own (self-contained check)" OFF)
if(KEEL_HEADER_CHECKS)
  file(GLOB_RECURSE _keel_headers CONFIGURE_DEPENDS RELATIVE "${PROJECT_SOURCE_DIR}/include"
    "${PROJECT_SOURCE_DIR}/include/keel/*.hpp")
  set(_keel_header_check_sources "")
  foreach(_keel_header IN LISTS _keel_headers "keel.hpp")
    set(_keel_source "${CMAKE_CURRENT_BINARY_DIR}/header_check/${_keel_header}.cpp")
    file(CONFIGURE OUTPUT "${_keel_source}" CONTENT "#include \"${_keel_header}\"\n")
    list(APPEND _keel_header_check_sources "${_keel_source}")
  endforeach()
  add_library(keel_header_check OBJECT ${_keel_header_check_sources})
  target_link_libraries(keel_header_check PRIVATE keel::keel keel_warnings)
endif()
