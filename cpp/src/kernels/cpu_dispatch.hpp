#pragma once
// The SIMD level the kernels dispatch to (see backprop/cpu.hpp for the public face).
#include <string>

namespace backprop::kernels {

enum class Isa { Default = 0, Avx2 = 1, Avx512 = 2 };

const char* isa_name(Isa isa);

/// The level in use: chosen on the first call (thread-safe) from CPUID and BACKPROP_CPU_CAPABILITY.
Isa active_isa();

/// Whether this CPU and this build can run `isa`; if not and `why` is given, says why.
bool isa_available(Isa isa, std::string* why = nullptr);

/// Testing hook: switches the level for the whole process; throws backprop::RuntimeError when
/// the level is unavailable. Not for use while kernels run on other threads.
void set_active_isa(Isa isa);

/// Parses "avx512" | "avx2" | "default" (case-insensitive); false when the name is unknown.
bool parse_isa(const std::string& name, Isa* out);

}  // namespace backprop::kernels
