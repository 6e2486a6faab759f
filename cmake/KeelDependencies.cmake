# keel's components and the third-party packages (all from Debian 12) each one needs. Shared by the build
# tree (CMakeLists.txt) and by the installed keel-config.cmake (installed next to it), so both look up
# exactly the same packages.
#
#   component  headers                                          needs
#   core       keel.hpp: server, router, HTTP, middleware        standalone Asio, threads
#   json       keel/json.hpp, keel/openapi.hpp, extractors/json  core + simdjson, Boost.PFR (headers only)
#              keel/settings.hpp (typed settings, app commands)
#   sql        keel/sql.hpp (SQLite engine)                      json + SQLite3
#   postgres   keel/postgres.hpp, keel/sql/postgres.hpp          sql + libpq
#   tls        keel/tls.hpp                                     core + OpenSSL 3
#   auth       keel/auth.hpp (Argon2id, JWT, sessions, ...)      json + OpenSSL 3 (libcrypto) + libsodium
#   websocket  keel/websocket.hpp (RFC 6455, permessage-deflate) json + OpenSSL 3 (libcrypto: SHA-1) + zlib
#
# keel::keel is every component that was built (installed: every component of the package).
include(CMakeFindDependencyMacro)

set(KEEL_ALL_COMPONENTS core json sql postgres tls auth websocket)
set(KEEL_COMPONENT_REQUIRES_core "")
set(KEEL_COMPONENT_REQUIRES_json core)
set(KEEL_COMPONENT_REQUIRES_sql json)
set(KEEL_COMPONENT_REQUIRES_postgres sql)
set(KEEL_COMPONENT_REQUIRES_tls core)
set(KEEL_COMPONENT_REQUIRES_auth json)
set(KEEL_COMPONENT_REQUIRES_websocket json)

# keel_component_closure(<out var> <component>...): the components plus every component they need, in
# dependency order (core first).
function(keel_component_closure out)
  set(wanted ${ARGN})
  set(changed TRUE)
  while(changed)
    set(changed FALSE)
    foreach(component IN LISTS wanted)
      foreach(needed IN LISTS KEEL_COMPONENT_REQUIRES_${component})
        if(NOT needed IN_LIST wanted)
          list(APPEND wanted ${needed})
          set(changed TRUE)
        endif()
      endforeach()
    endforeach()
  endwhile()
  set(ordered "")
  foreach(component IN LISTS KEEL_ALL_COMPONENTS)
    if(component IN_LIST wanted)
      list(APPEND ordered ${component})
    endif()
  endforeach()
  set(${out} ${ordered} PARENT_SCOPE)
endfunction()

# keel_find_component_dependencies(<component> <REQUIRED|QUIET>): finds the packages <component> needs
# (not those of the components it builds on). Sets KEEL_<component>_DEPENDENCIES_FOUND and, when something is
# missing, KEEL_<component>_MISSING (a sentence naming the Debian package to install). REQUIRED stops the
# configure at the first missing package. A macro: find_package's result variables stay visible.
macro(keel_find_component_dependencies component mode)
  set(_keel_component "${component}")
  set(KEEL_${component}_DEPENDENCIES_FOUND TRUE)
  set(KEEL_${component}_MISSING "")
  if("${component}" STREQUAL "core")
    _keel_find(${mode} "threads" Threads)
    if(NOT TARGET keel_asio)
      # Standalone Asio ships neither a CMake config nor a .pc file.
      find_path(KEEL_ASIO_INCLUDE_DIR asio.hpp)
      if(KEEL_ASIO_INCLUDE_DIR)
        add_library(keel_asio INTERFACE IMPORTED GLOBAL)
        target_include_directories(keel_asio SYSTEM INTERFACE "${KEEL_ASIO_INCLUDE_DIR}")
        target_compile_definitions(keel_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
          $<$<CXX_COMPILER_ID:Clang>:ASIO_HAS_CO_AWAIT=1>)
      else()
        _keel_missing(${mode} "standalone Asio (asio.hpp; libasio-dev, or set KEEL_ASIO_INCLUDE_DIR)")
      endif()
    endif()
  elseif("${component}" STREQUAL "json")
    _keel_find(${mode} "simdjson (libsimdjson-dev)" simdjson)
    _keel_find(${mode} "Boost.PFR (libboost1.81-dev)" Boost 1.81 CONFIG COMPONENTS headers)
  elseif("${component}" STREQUAL "sql")
    _keel_find(${mode} "SQLite3 (libsqlite3-dev)" SQLite3)
  elseif("${component}" STREQUAL "postgres")
    _keel_find(${mode} "libpq (libpq-dev)" PostgreSQL)
  elseif("${component}" STREQUAL "tls")
    _keel_find(${mode} "OpenSSL 3 (libssl-dev)" OpenSSL 3)
  elseif("${component}" STREQUAL "auth")
    _keel_find(${mode} "OpenSSL 3 (libssl-dev)" OpenSSL 3)
    _keel_find(${mode} "pkg-config" PkgConfig)
    if(PkgConfig_FOUND AND NOT TARGET PkgConfig::KEEL_SODIUM)
      pkg_check_modules(KEEL_SODIUM QUIET IMPORTED_TARGET libsodium)
    endif()
    if(NOT TARGET PkgConfig::KEEL_SODIUM)
      _keel_missing(${mode} "libsodium (libsodium-dev)")
    endif()
  elseif("${component}" STREQUAL "websocket")
    _keel_find(${mode} "OpenSSL 3 (libssl-dev)" OpenSSL 3)
    _keel_find(${mode} "zlib (zlib1g-dev)" ZLIB)
  else()
    _keel_missing(FATAL "keel has no component '${component}' (it has: ${KEEL_ALL_COMPONENTS})")
  endif()
endmacro()

# Internal: find_package(<args>) for the current component; `what` names the package in messages.
macro(_keel_find mode what package)
  if("${mode}" STREQUAL "REQUIRED")
    find_package(${package} ${ARGN} REQUIRED)
  else()
    find_package(${package} ${ARGN} QUIET)
  endif()
  if(NOT ${package}_FOUND)
    _keel_missing(${mode} "${what}")
  endif()
endmacro()

macro(_keel_missing mode what)
  if("${mode}" STREQUAL "REQUIRED" OR "${mode}" STREQUAL "FATAL")
    message(FATAL_ERROR "keel: ${what} not found")
  endif()
  set(KEEL_${_keel_component}_DEPENDENCIES_FOUND FALSE)
  list(APPEND KEEL_${_keel_component}_MISSING "${what}")
endmacro()

# keel_component_link_libraries(<out var> <component>): what the component's target links, keel targets
# named keel_<component> (the build tree's names; exported under the keel:: namespace they become keel::x).
function(keel_component_link_libraries out component)
  set(libs "")
  foreach(needed IN LISTS KEEL_COMPONENT_REQUIRES_${component})
    list(APPEND libs keel_${needed})
  endforeach()
  if(component STREQUAL "core")
    list(APPEND libs keel_asio Threads::Threads)
  elseif(component STREQUAL "json")
    list(APPEND libs simdjson::simdjson Boost::headers)
  elseif(component STREQUAL "sql")
    list(APPEND libs SQLite::SQLite3)
  elseif(component STREQUAL "postgres")
    list(APPEND libs PostgreSQL::PostgreSQL)
  elseif(component STREQUAL "tls")
    list(APPEND libs OpenSSL::SSL OpenSSL::Crypto)
  elseif(component STREQUAL "auth")
    list(APPEND libs OpenSSL::Crypto PkgConfig::KEEL_SODIUM)
  elseif(component STREQUAL "websocket")
    list(APPEND libs OpenSSL::Crypto ZLIB::ZLIB)
  endif()
  set(${out} ${libs} PARENT_SCOPE)
endfunction()
