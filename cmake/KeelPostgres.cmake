# keel::postgres: the PostgreSQL engine of keel's SQL layer (keel/sql/postgres.hpp) needs libpq. Separate from
# keel::keel so programs that only use SQLite do not link it. Absent (with a message) when libpq is missing.
find_package(PostgreSQL QUIET)
if(PostgreSQL_FOUND AND NOT TARGET keel_postgres)
  add_library(keel_postgres INTERFACE)
  add_library(keel::postgres ALIAS keel_postgres)
  target_link_libraries(keel_postgres INTERFACE keel::keel PostgreSQL::PostgreSQL)
elseif(NOT PostgreSQL_FOUND)
  message(STATUS "keel: libpq not found (install libpq-dev): keel::postgres and the PostgreSQL tests are skipped")
endif()
