# keel::log: structured JSON log lines with levels (keel/log.hpp, the add-on of the same name), formatted with
# fmt. Separate from keel::keel so programs that do not log this way never link fmt. Absent (with a message)
# when fmt is missing.
find_package(fmt QUIET)
if(fmt_FOUND AND NOT TARGET keel_log)
  add_library(keel_log INTERFACE)
  add_library(keel::log ALIAS keel_log)
  target_link_libraries(keel_log INTERFACE keel::keel fmt::fmt)
elseif(NOT fmt_FOUND)
  message(STATUS "keel: fmt not found (install libfmt-dev): keel::log and its tests are skipped")
endif()
