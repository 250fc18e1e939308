# Per-file compile flags for the SIMD kernels (AVX2+FMA, AVX-512 variants chosen at run time).
# Included from the top-level CMakeLists.txt after the backprop target exists.
