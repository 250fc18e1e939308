// CPU capability detection and the once-only choice of kernel variant.
#include <atomic>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "backprop/cpu.hpp"
#include "backprop/errors.hpp"
#include "cpu_dispatch.hpp"
#include "gemm_kernels.hpp"

namespace backprop::kernels {
namespace {

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
bool cpu_has(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    default:
      return true;
  }
}
#else
bool cpu_has(Isa isa) { return isa == Isa::Default; }
#endif

bool built_with(Isa isa) {
  return gemm_table<float>(isa) != nullptr && gemm_table<double>(isa) != nullptr;
}

Isa best_available() {
  for (Isa isa : {Isa::Avx512, Isa::Avx2})
    if (isa_available(isa)) return isa;
  return Isa::Default;
}

Isa choose() {
  const char* env = std::getenv("BACKPROP_CPU_CAPABILITY");
  if (env == nullptr || *env == '\0') return best_available();
  Isa forced;
  if (!parse_isa(env, &forced)) {
    Isa best = best_available();
    std::fprintf(stderr,
                 "backprop: ignoring BACKPROP_CPU_CAPABILITY=%s (expected avx512, avx2 or default); using %s\n", env,
                 isa_name(best));
    return best;
  }
  std::string why;
  if (isa_available(forced, &why)) return forced;
  Isa fallback = Isa::Default;
  for (Isa isa : {Isa::Avx512, Isa::Avx2})
    if (static_cast<int>(isa) < static_cast<int>(forced) && isa_available(isa)) {
      fallback = isa;
      break;
    }
  std::fprintf(stderr, "backprop: BACKPROP_CPU_CAPABILITY=%s requested, but %s; falling back to %s\n", env,
               why.c_str(), isa_name(fallback));
  return fallback;
}

std::atomic<int> g_isa{-1};
std::once_flag g_once;

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return "avx512";
    case Isa::Avx2:
      return "avx2";
    default:
      return "default";
  }
}

bool parse_isa(const std::string& name, Isa* out) {
  std::string s;
  for (char ch : name) s += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (s == "avx512") *out = Isa::Avx512;
  else if (s == "avx2") *out = Isa::Avx2;
  else if (s == "default") *out = Isa::Default;
  else return false;
  return true;
}

bool isa_available(Isa isa, std::string* why) {
  if (!cpu_has(isa)) {
    if (why)
      *why = isa == Isa::Avx512 ? "this CPU lacks AVX-512 (F, DQ, BW and VL are needed)"
                                : "this CPU lacks AVX2 and FMA";
    return false;
  }
  if (!built_with(isa)) {
    if (why) *why = std::string("this build was compiled without the ") + isa_name(isa) + " kernels";
    return false;
  }
  return true;
}

Isa active_isa() {
  int v = g_isa.load(std::memory_order_acquire);
  if (v >= 0) return static_cast<Isa>(v);
  std::call_once(g_once, [] {
    int expected = -1;
    g_isa.compare_exchange_strong(expected, static_cast<int>(choose()), std::memory_order_acq_rel);
  });
  return static_cast<Isa>(g_isa.load(std::memory_order_acquire));
}

void set_active_isa(Isa isa) {
  std::string why;
  if (!isa_available(isa, &why))
    throw RuntimeError(std::string("cpu capability '") + isa_name(isa) + "' is unavailable: " + why);
  active_isa();  // make sure the one-time choice has happened, so it cannot overwrite this one
  g_isa.store(static_cast<int>(isa), std::memory_order_release);
}

}  // namespace backprop::kernels

namespace backprop {

std::string cpu_capability() { return kernels::isa_name(kernels::active_isa()); }

}  // namespace backprop
