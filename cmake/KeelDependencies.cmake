# Finds keel's dependencies (all from Debian 12 packages) and attaches them to a target.
# Shared by the build tree and by the installed keelConfig.cmake.
include(CMakeFindDependencyMacro)
find_package(Threads REQUIRED)
find_package(simdjson REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS headers)
find_package(fmt REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)

# Standalone Asio ships neither a CMake config nor a .pc file.
if(NOT TARGET keel_asio)
  find_path(KEEL_ASIO_INCLUDE_DIR asio.hpp REQUIRED)
  add_library(keel_asio INTERFACE IMPORTED GLOBAL)
  target_include_directories(keel_asio SYSTEM INTERFACE "${KEEL_ASIO_INCLUDE_DIR}")
  target_compile_definitions(keel_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
    $<$<CXX_COMPILER_ID:Clang>:ASIO_HAS_CO_AWAIT=1>)
endif()

function(keel_link_dependencies target)
  target_link_libraries(${target} INTERFACE
    keel_asio Threads::Threads simdjson::simdjson Boost::headers fmt::fmt
    OpenSSL::SSL OpenSSL::Crypto SQLite::SQLite3)
endfunction()
