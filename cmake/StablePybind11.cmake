# Under pip, pybind11 comes from a new temporary build environment at every install, so its
# include directory, and with it the module's compile commands, would change each time and the
# second `pip install .` would recompile every binding. The module compiles against a copy kept
# in the build directory instead; a header is rewritten only when its contents differ, so that
# neither the commands nor the headers' timestamps change between installs of the same pybind11.
# Included from the top-level CMakeLists.txt after find_package(pybind11).
if(DEFINED SKBUILD AND NOT CMAKE_VERSION VERSION_LESS 3.21)
  set(_bp_pybind11_copy ${CMAKE_BINARY_DIR}/pybind11-include)
  file(GLOB_RECURSE _bp_pybind11_headers RELATIVE ${pybind11_INCLUDE_DIR} ${pybind11_INCLUDE_DIR}/pybind11/*)
  foreach(header IN LISTS _bp_pybind11_headers)
    get_filename_component(_bp_dir ${_bp_pybind11_copy}/${header} DIRECTORY)
    file(MAKE_DIRECTORY ${_bp_dir})
    file(COPY_FILE ${pybind11_INCLUDE_DIR}/${header} ${_bp_pybind11_copy}/${header} ONLY_IF_DIFFERENT)
  endforeach()
  set_property(TARGET pybind11::pybind11_headers PROPERTY INTERFACE_INCLUDE_DIRECTORIES ${_bp_pybind11_copy})
endif()
