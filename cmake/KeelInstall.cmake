# install() rules and the package files that make find_package(keel CONFIG [COMPONENTS ...]) work after
# `cmake --install`. keel is header-only, so the package is architecture independent and lives under share/.
# Each component has its own export file (keel-<component>-targets.cmake), loaded only when asked for;
# keel-targets.cmake holds keel::keel, loaded when find_package names no components.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(KEEL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/keel" CACHE STRING
  "Where keel-config.cmake is installed, relative to the prefix")

foreach(_keel_component IN LISTS KEEL_BUILT_COMPONENTS)
  install(TARGETS keel_${_keel_component} EXPORT keel-${_keel_component}-targets COMPONENT keel)
  install(EXPORT keel-${_keel_component}-targets NAMESPACE keel:: FILE keel-${_keel_component}-targets.cmake
    DESTINATION "${KEEL_INSTALL_CMAKEDIR}" COMPONENT keel)
endforeach()
install(TARGETS keel EXPORT keel-targets COMPONENT keel)
install(EXPORT keel-targets NAMESPACE keel:: FILE keel-targets.cmake DESTINATION "${KEEL_INSTALL_CMAKEDIR}"
  COMPONENT keel)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT keel
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.ipp")

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/keel-config.cmake.in"
  "${PROJECT_BINARY_DIR}/keel-config.cmake"
  INSTALL_DESTINATION "${KEEL_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/keel-config-version.cmake"
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES
  "${PROJECT_BINARY_DIR}/keel-config.cmake"
  "${PROJECT_BINARY_DIR}/keel-config-version.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/KeelDependencies.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/KeelApp.cmake"
  DESTINATION "${KEEL_INSTALL_CMAKEDIR}" COMPONENT keel)
