# Compiles through ccache when it is installed and the user chose no launcher of their own.
# ccache caches a compile that uses a precompiled header only with this sloppiness (ccache's manual,
# "Precompiled headers"); a user's plain "ccache" launcher gets it too. Set as a normal variable so the
# user's cache entry is never rewritten.
set(KEEL_CCACHE_SLOPPINESS "pch_defines,time_macros,include_file_mtime,include_file_ctime")

if(NOT DEFINED CMAKE_CXX_COMPILER_LAUNCHER AND NOT DEFINED ENV{CMAKE_CXX_COMPILER_LAUNCHER})
  find_program(KEEL_CCACHE_PROGRAM ccache)
  if(KEEL_CCACHE_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER "${KEEL_CCACHE_PROGRAM}")
  endif()
endif()

set(KEEL_USES_CCACHE OFF)
if(CMAKE_CXX_COMPILER_LAUNCHER)
  list(GET CMAKE_CXX_COMPILER_LAUNCHER -1 _keel_launcher_last)
  get_filename_component(_keel_launcher_name "${_keel_launcher_last}" NAME)
  if(_keel_launcher_name STREQUAL "ccache" AND NOT CMAKE_CXX_COMPILER_LAUNCHER MATCHES "CCACHE_SLOPPINESS")
    set(CMAKE_CXX_COMPILER_LAUNCHER
      "${CMAKE_COMMAND}" -E env "CCACHE_SLOPPINESS=${KEEL_CCACHE_SLOPPINESS}" ${CMAKE_CXX_COMPILER_LAUNCHER})
  endif()
  if(_keel_launcher_name STREQUAL "ccache")
    set(KEEL_USES_CCACHE ON)
  endif()
endif()
