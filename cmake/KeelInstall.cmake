# install() rules and the package files that make find_package(keel CONFIG) work after `cmake --install`.
# keel is header-only, so the package is architecture independent and lives under share/.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(KEEL_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/keel" CACHE STRING
  "Where keelConfig.cmake is installed, relative to the prefix")

install(TARGETS keel EXPORT keelTargets COMPONENT keel)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}" COMPONENT keel
  FILES_MATCHING PATTERN "*.hpp" PATTERN "*.ipp")
install(EXPORT keelTargets NAMESPACE keel:: DESTINATION "${KEEL_INSTALL_CMAKEDIR}" COMPONENT keel)

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/keelConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/keelConfig.cmake"
  INSTALL_DESTINATION "${KEEL_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/keelConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES
  "${PROJECT_BINARY_DIR}/keelConfig.cmake"
  "${PROJECT_BINARY_DIR}/keelConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/KeelDependencies.cmake"
  DESTINATION "${KEEL_INSTALL_CMAKEDIR}" COMPONENT keel)
