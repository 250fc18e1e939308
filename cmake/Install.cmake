# Installs the C++ package: headers, the static library, exported targets, backpropConfig.cmake
# and a version file. `cmake --install build --prefix P` lays them out under P; a wheel built by
# scikit-build-core carries the same files inside the backprop package (see
# backprop.cmake_prefix_path()).
include(CMakePackageConfigHelpers)
include(GNUInstallDirs)

if(DEFINED SKBUILD)
  set(_bp_root backprop/)
else()
  set(_bp_root "")
endif()
set(BACKPROP_INSTALL_INCLUDEDIR ${_bp_root}${CMAKE_INSTALL_INCLUDEDIR})
set(BACKPROP_INSTALL_LIBDIR ${_bp_root}${CMAKE_INSTALL_LIBDIR})
set(BACKPROP_INSTALL_CMAKEDIR ${BACKPROP_INSTALL_LIBDIR}/cmake/backprop)

# Relative to the install prefix, which for a wheel is site-packages: hence the backprop/ root.
target_include_directories(backprop PUBLIC $<INSTALL_INTERFACE:${BACKPROP_INSTALL_INCLUDEDIR}>)
set_target_properties(backprop PROPERTIES EXPORT_NAME backprop)
install(TARGETS backprop EXPORT backpropTargets
  ARCHIVE DESTINATION ${BACKPROP_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${BACKPROP_INSTALL_LIBDIR})
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/cpp/include/backprop DESTINATION ${BACKPROP_INSTALL_INCLUDEDIR})
install(EXPORT backpropTargets NAMESPACE backprop:: DESTINATION ${BACKPROP_INSTALL_CMAKEDIR})

configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/backpropConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/backpropConfig.cmake
  INSTALL_DESTINATION ${BACKPROP_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/backpropConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/backpropConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/backpropConfigVersion.cmake
  DESTINATION ${BACKPROP_INSTALL_CMAKEDIR})
