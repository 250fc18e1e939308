// backprop._core.cpu_capability(): which SIMD variant the kernels run.
#include "../src/kernels/cpu_dispatch.hpp"
#include "backprop/cpu.hpp"
#include "bindings.hpp"

namespace backprop::python {

void bind_cpu(py::module_& m) {
  m.def("cpu_capability", &cpu_capability,
        "The SIMD level the kernels run at: 'avx512', 'avx2' or 'default' (BACKPROP_CPU_CAPABILITY forces one).");
  m.def(
      "_set_cpu_capability",
      [](const std::string& name) {
        kernels::Isa isa;
        if (!kernels::parse_isa(name, &isa))
          throw TypeError("_set_cpu_capability: unknown capability '" + name + "'; expected avx512, avx2 or default");
        std::string previous = cpu_capability();
        kernels::set_active_isa(isa);
        return previous;
      },
      py::arg("name"), "Testing hook: switch the kernel variant for this process; returns the previous one.");
  m.def(
      "_cpu_capability_available",
      [](const std::string& name) {
        kernels::Isa isa;
        if (!kernels::parse_isa(name, &isa))
          throw TypeError("_cpu_capability_available: unknown capability '" + name + "'");
        return kernels::isa_available(isa);
      },
      py::arg("name"));
}

}  // namespace backprop::python
