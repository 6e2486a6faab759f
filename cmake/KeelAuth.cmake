# keel::auth: password hashing (Argon2id from libsodium) and JWT (OpenSSL, already in keel::keel), the
# headers under keel/auth/ and the add-on keel/auth.hpp. Separate from keel::keel so programs without
# authentication do not link libsodium. Absent (with a message) when libsodium is missing.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(KEEL_SODIUM QUIET IMPORTED_TARGET libsodium)
endif()
if(KEEL_SODIUM_FOUND AND NOT TARGET keel_auth)
  add_library(keel_auth INTERFACE)
  add_library(keel::auth ALIAS keel_auth)
  target_link_libraries(keel_auth INTERFACE keel::keel PkgConfig::KEEL_SODIUM)
elseif(NOT KEEL_SODIUM_FOUND)
  message(STATUS "keel: libsodium not found (install libsodium-dev): keel::auth and its tests are skipped")
endif()
