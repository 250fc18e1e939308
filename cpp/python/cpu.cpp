// backprop._core.cpu_capability(): which SIMD variant the kernels run.
#include "backprop/cpu.hpp"
#include "bindings.hpp"

namespace backprop::python {

void bind_cpu(py::module_& m) {
  m.def("cpu_capability", &cpu_capability,
        "The SIMD level the kernels run at: 'avx512', 'avx2' or 'default' (BACKPROP_CPU_CAPABILITY forces one).");
  m.def("_set_cpu_capability", &set_cpu_capability, py::arg("name"),
        "Testing hook: switch the kernel variant for this process; returns the previous one.");
  m.def("_cpu_capability_available", &cpu_capability_available, py::arg("name"));
}

}  // namespace backprop::python
