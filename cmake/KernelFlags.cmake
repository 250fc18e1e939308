# Per-file compile flags for the SIMD kernels (AVX2+FMA, AVX-512 variants chosen at run time).
# Included from the top-level CMakeLists.txt after the backprop target exists.
#
# Every variant is compiled into the one library: cpp/src/kernels/*_avx2.cpp get AVX2+FMA,
# cpp/src/kernels/*_avx512.cpp get AVX-512 F/DQ/BW/VL. Nothing else is built with these flags
# (never -march=native), and cpp/src/kernels/cpu.cpp decides at run time which variant runs.
# A compiler that lacks a flag builds that file as an empty stub and the variant is reported
# unavailable.
include(CheckCXXCompilerFlag)

file(GLOB BACKPROP_AVX2_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cpp/src/kernels/*_avx2.cpp)
file(GLOB BACKPROP_AVX512_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cpp/src/kernels/*_avx512.cpp)

set(_bp_x86 OFF)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|i[3-6]86|x86)$")
  set(_bp_x86 ON)
endif()

if(_bp_x86 AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  set(BACKPROP_AVX2_FLAGS -mavx2 -mfma)
  set(BACKPROP_AVX512_FLAGS -mavx2 -mfma -mavx512f -mavx512dq -mavx512bw -mavx512vl)
  check_cxx_compiler_flag("-mavx2 -mfma" BACKPROP_HAVE_AVX2_FLAGS)
  check_cxx_compiler_flag("-mavx512f -mavx512dq -mavx512bw -mavx512vl" BACKPROP_HAVE_AVX512_FLAGS)
  if(BACKPROP_HAVE_AVX2_FLAGS)
    set_source_files_properties(${BACKPROP_AVX2_SOURCES} TARGET_DIRECTORY backprop
      PROPERTIES COMPILE_OPTIONS "${BACKPROP_AVX2_FLAGS}")
  endif()
  if(BACKPROP_HAVE_AVX512_FLAGS)
    set_source_files_properties(${BACKPROP_AVX512_SOURCES} TARGET_DIRECTORY backprop
      PROPERTIES COMPILE_OPTIONS "${BACKPROP_AVX512_FLAGS}")
  endif()
  # The vector math is written with plain * and +; with -std=c++17 GCC would not contract them
  # into FMAs, which both the speed and the stated error bounds of kernels/vmath.hpp assume.
  file(GLOB _bp_vmath_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cpp/src/kernels/vmath_*.cpp)
  set_property(SOURCE ${_bp_vmath_sources} TARGET_DIRECTORY backprop APPEND PROPERTY COMPILE_OPTIONS -ffp-contract=fast)
elseif(_bp_x86 AND MSVC)
  set_source_files_properties(${BACKPROP_AVX2_SOURCES} TARGET_DIRECTORY backprop
    PROPERTIES COMPILE_OPTIONS "/arch:AVX2")
  set_source_files_properties(${BACKPROP_AVX512_SOURCES} TARGET_DIRECTORY backprop
    PROPERTIES COMPILE_OPTIONS "/arch:AVX512")
endif()
