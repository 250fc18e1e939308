// backward, grad and the grad-mode switch.
#include "bindings.hpp"

namespace backprop::python {
namespace {

std::vector<Tensor> tensors_or_one(py::handle h, const char* op) {
  if (py::isinstance<Tensor>(h)) return {h.cast<Tensor>()};
  return tensor_list(h, op);
}

// Gradients aligned with `outputs`; None entries stay undefined (implicit ones for scalars).
std::vector<Tensor> grads_arg(py::handle h, const std::vector<Tensor>& outputs, const char* op) {
  std::vector<Tensor> grads;
  if (h.is_none()) return grads;
  if (py::isinstance<Tensor>(h)) return {h.cast<Tensor>()};
  for (auto item : py::iter(h)) {
    size_t i = grads.size();
    grads.push_back(item.is_none() ? Tensor() : operand(item, outputs.at(i), op));
  }
  return grads;
}

// The Python stack at the op call that creates a node in anomaly mode.
std::string python_stack() {
  if (!Py_IsInitialized()) return {};
  py::gil_scoped_acquire gil;
  try {
    py::object lines = py::module_::import("traceback").attr("format_stack")();
    return py::str("").attr("join")(lines).cast<std::string>();
  } catch (py::error_already_set&) {
    return {};
  }
}

}  // namespace

void bind_autograd(py::module_& m) {
  set_anomaly_trace_fn(&python_stack);
  m.def("is_anomaly_enabled", &is_anomaly_enabled);
  m.def("is_anomaly_check_nan_enabled", &is_anomaly_check_nan_enabled);
  m.def("_set_detect_anomaly", &set_detect_anomaly, py::arg("mode"), py::arg("check_nan") = true);
  m.def("is_grad_enabled", &is_grad_enabled);
  m.def("_set_grad_enabled", &set_grad_enabled, py::arg("mode"));
  m.def(
      "_backward",
      [](py::handle tensors, py::handle grad_tensors, bool retain_graph, bool create_graph) {
        std::vector<Tensor> outputs = tensors_or_one(tensors, "backward");
        std::vector<Tensor> grads = grads_arg(grad_tensors, outputs, "backward");
        py::gil_scoped_release release;
        backward(outputs, grads, retain_graph, create_graph);
      },
      py::arg("tensors"), py::arg("grad_tensors") = py::none(), py::arg("retain_graph") = false,
      py::arg("create_graph") = false);
  m.def(
      "_grad",
      [](py::handle outputs_arg, py::handle inputs_arg, py::handle grad_outputs, bool retain_graph, bool allow_unused,
         bool create_graph) {
        std::vector<Tensor> outputs = tensors_or_one(outputs_arg, "grad");
        std::vector<Tensor> inputs = tensors_or_one(inputs_arg, "grad");
        std::vector<Tensor> grads = grads_arg(grad_outputs, outputs, "grad");
        std::vector<Tensor> result;
        {
          py::gil_scoped_release release;
          result = grad(outputs, inputs, grads, retain_graph, allow_unused, create_graph);
        }
        py::tuple out(result.size());
        for (size_t i = 0; i < result.size(); ++i) out[i] = result[i].defined() ? py::cast(result[i]) : py::none();
        return out;
      },
      py::arg("outputs"), py::arg("inputs"), py::arg("grad_outputs") = py::none(), py::arg("retain_graph") = false,
      py::arg("allow_unused") = false, py::arg("create_graph") = false);
}

}  // namespace backprop::python
