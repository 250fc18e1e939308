#pragma once
/// \file cpu.hpp
/// Which SIMD variant of the numeric kernels (GEMM first of all) this process runs.
#include <string>

namespace backprop {

/// The instruction-set level the kernels were dispatched to: "avx512", "avx2" or "default".
///
/// Every variant is compiled into the library; the choice is made once, at first use, from what
/// the CPU (and the operating system) support. The environment variable
/// `BACKPROP_CPU_CAPABILITY` set to `avx512`, `avx2` or `default` forces a level; a forced level
/// that the CPU or this build lacks falls back to the best one available, with the reason
/// printed once to stderr.
std::string cpu_capability();

/// Switches this process to the kernel variant `name` ("avx512", "avx2" or "default") and returns
/// the previous one. Meant for tests and benchmarks that compare variants. Throws TypeError for
/// an unknown name and RuntimeError for one this CPU or build lacks.
std::string set_cpu_capability(const std::string& name);
/// Whether the variant `name` can run here. Throws TypeError for an unknown name.
bool cpu_capability_available(const std::string& name);

}  // namespace backprop
