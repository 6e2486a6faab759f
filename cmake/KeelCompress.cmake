# keel::compress: response compression and request decompression (keel/middleware/compress.hpp, the add-on
# keel/compress.hpp) over zlib and libbrotli. Separate from keel::keel so programs without it link neither.
# Absent (with a message) when either library is missing.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(KEEL_ZLIB QUIET IMPORTED_TARGET zlib)
  pkg_check_modules(KEEL_BROTLI QUIET IMPORTED_TARGET libbrotlienc libbrotlidec)
endif()
if(KEEL_ZLIB_FOUND AND KEEL_BROTLI_FOUND AND NOT TARGET keel_compress)
  add_library(keel_compress INTERFACE)
  add_library(keel::compress ALIAS keel_compress)
  target_link_libraries(keel_compress INTERFACE keel::keel PkgConfig::KEEL_ZLIB PkgConfig::KEEL_BROTLI)
elseif(NOT (KEEL_ZLIB_FOUND AND KEEL_BROTLI_FOUND))
  message(STATUS "keel: zlib or libbrotli not found (install zlib1g-dev libbrotli-dev): keel::compress, its "
                 "tests and examples/site are skipped")
endif()
