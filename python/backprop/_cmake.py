"""Where the wheel keeps its C++ package, for native programs built against this install."""

import os


def cmake_prefix_path():
    """The folder to pass as CMAKE_PREFIX_PATH so that find_package(backprop) finds this install.

    The wheel carries the headers, the static library and backpropConfig.cmake inside the package:
        cmake -S app -B build -DCMAKE_PREFIX_PATH="$(python -c 'import backprop; print(backprop.cmake_prefix_path())')"
    """
    here = os.path.dirname(os.path.abspath(__file__))
    if not os.path.isfile(os.path.join(here, "lib", "cmake", "backprop", "backpropConfig.cmake")):
        raise RuntimeError(
            "cmake_prefix_path: this backprop has no C++ package next to it (a development checkout "
            "run from source has none); pip install the package, or install the C++ package with "
            "`cmake --install build --prefix P` and use P"
        )
    return here
