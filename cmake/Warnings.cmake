# Compiler warnings for every target the project builds itself: the library, the Python module,
# the C++ tests and the in-tree examples. BACKPROP_WERROR (on in CI, off by default so that a
# newer compiler's new warning never stops a user's `pip install`) turns them into errors.
option(BACKPROP_WERROR "Treat compiler warnings as errors (CI turns this on)" OFF)

function(backprop_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
    if(BACKPROP_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W3)
    if(BACKPROP_WERROR)
      target_compile_options(${target} PRIVATE /WX)
    endif()
  endif()
endfunction()
