// The public switch between kernel variants, over the dispatcher in kernels/.
#include "backprop/cpu.hpp"
#include "backprop/errors.hpp"
#include "kernels/cpu_dispatch.hpp"

namespace backprop {

namespace {

kernels::Isa parse_or_throw(const std::string& name, const char* op) {
  kernels::Isa isa;
  if (!kernels::parse_isa(name, &isa))
    throw TypeError(std::string(op) + ": unknown capability '" + name + "'; expected avx512, avx2 or default");
  return isa;
}

}  // namespace

std::string set_cpu_capability(const std::string& name) {
  kernels::Isa isa = parse_or_throw(name, "set_cpu_capability");
  std::string previous = cpu_capability();
  kernels::set_active_isa(isa);
  return previous;
}

bool cpu_capability_available(const std::string& name) {
  return kernels::isa_available(parse_or_throw(name, "cpu_capability_available"));
}

}  // namespace backprop
