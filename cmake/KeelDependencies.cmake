# Finds keel's dependencies (all from Debian 12 packages) and attaches them to a target.
# Shared by the build tree and by the installed keelConfig.cmake (installed next to it).
include(CMakeFindDependencyMacro)

# Inside keelConfig.cmake a missing dependency must make find_package(keel) report "not found" (and honour
# the caller's QUIET/REQUIRED) instead of aborting: that is find_dependency(). keel's own build just
# requires the package.
macro(keel_find_dependency)
  if(CMAKE_FIND_PACKAGE_NAME STREQUAL "keel")
    find_dependency(${ARGV})
  else()
    find_package(${ARGV} REQUIRED)
  endif()
endmacro()

keel_find_dependency(Threads)
keel_find_dependency(simdjson)
keel_find_dependency(Boost 1.81 CONFIG COMPONENTS headers)
keel_find_dependency(fmt)
keel_find_dependency(OpenSSL 3)
keel_find_dependency(SQLite3)
keel_find_dependency(ZLIB)  # permessage-deflate (keel/websocket.hpp)

# Standalone Asio ships neither a CMake config nor a .pc file.
if(NOT TARGET keel_asio)
  find_path(KEEL_ASIO_INCLUDE_DIR asio.hpp)
  if(NOT KEEL_ASIO_INCLUDE_DIR)
    if(CMAKE_FIND_PACKAGE_NAME STREQUAL "keel")
      set(keel_NOT_FOUND_MESSAGE "standalone Asio (asio.hpp) not found: install libasio-dev or set KEEL_ASIO_INCLUDE_DIR")
      set(keel_FOUND FALSE)
      return()
    endif()
    message(FATAL_ERROR "standalone Asio (asio.hpp) not found: install libasio-dev or set KEEL_ASIO_INCLUDE_DIR")
  endif()
  add_library(keel_asio INTERFACE IMPORTED GLOBAL)
  target_include_directories(keel_asio SYSTEM INTERFACE "${KEEL_ASIO_INCLUDE_DIR}")
  target_compile_definitions(keel_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
    $<$<CXX_COMPILER_ID:Clang>:ASIO_HAS_CO_AWAIT=1>)
endif()

# --as-needed: a library the program makes no call into (OpenSSL without keel/tls.hpp, SQLite without keel/sql,
# zlib without keel/websocket.hpp)
# is not recorded as needed, so it is neither loaded nor mapped at run time.
function(keel_link_dependencies target)
  target_link_libraries(${target} INTERFACE
    keel_asio Threads::Threads simdjson::simdjson Boost::headers fmt::fmt
    OpenSSL::SSL OpenSSL::Crypto SQLite::SQLite3 ZLIB::ZLIB)
  target_link_options(${target} INTERFACE "LINKER:--as-needed")
endfunction()
