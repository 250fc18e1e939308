// Optimizers, gradient clipping and safetensors save/load for the Python package.
#include "backprop/optim.hpp"
#include "backprop/serialize.hpp"
#include "bindings.hpp"

namespace backprop::python {
namespace {

using optim::Optimizer;
using optim::Options;
using optim::ParamGroup;
using GroupSpecs = std::vector<std::pair<std::vector<Tensor>, Options>>;

std::vector<ParamGroup> to_groups(const GroupSpecs& specs) {
  std::vector<ParamGroup> groups;
  for (const auto& [params, options] : specs) groups.push_back(ParamGroup{params, options});
  return groups;
}

template <class Opt>
void bind_optimizer(py::module_& m, const char* name) {
  py::class_<Opt, Optimizer>(m, name).def(
      py::init([](const GroupSpecs& groups, const Options& defaults) { return new Opt(to_groups(groups), defaults); }),
      py::arg("groups"), py::arg("defaults"));
}

}  // namespace

void bind_optim(py::module_& m) {
  py::class_<Optimizer>(m, "_Optimizer")
      .def("step",
           [](Optimizer& o) {
             py::gil_scoped_release release;
             o.step();
           })
      .def("zero_grad", &Optimizer::zero_grad, py::arg("set_to_none") = true)
      .def("set_options",
           [](Optimizer& o, size_t group, const Options& options) {
             auto& groups = o.param_groups();
             if (group >= groups.size()) throw IndexError("optimizer: no parameter group " + std::to_string(group));
             for (const auto& [k, v] : options) groups[group].options[k] = v;
           })
      .def("add_param_group",
           [](Optimizer& o, const std::vector<Tensor>& params, const Options& options) {
             o.add_param_group(ParamGroup{params, options});
           })
      .def("get_state",
           [](Optimizer& o, const Tensor& p) -> py::object {
             if (!o.has_state(p)) return py::none();
             optim::ParamState& s = o.state(p);
             return py::make_tuple(s.step, s.buffers, s.scalars);
           })
      .def(
          "set_state",
          [](Optimizer& o, const Tensor& p, int64_t step, const std::map<std::string, Tensor>& buffers,
             const std::map<std::string, double>& scalars) {
            for (const auto& [k, v] : buffers)
              if (v.shape() != p.shape())
                throw ShapeError("load_state_dict: state '" + k + "' has shape " + shape_str(v.shape()) +
                                 " but its parameter has shape " + shape_str(p.shape()));
            optim::ParamState& s = o.state(p);
            s.step = step;
            s.buffers.clear();
            for (const auto& [k, v] : buffers) s.buffers[k] = v.to(p.dtype()).contiguous().clone();
            s.scalars = scalars;
          },
          py::arg("param"), py::arg("step"), py::arg("buffers"), py::arg("scalars") = std::map<std::string, double>{});
  bind_optimizer<optim::SGD>(m, "_SGD");
  bind_optimizer<optim::Adam>(m, "_Adam");
  bind_optimizer<optim::AdamW>(m, "_AdamW");
  bind_optimizer<optim::RMSprop>(m, "_RMSprop");
  bind_optimizer<optim::NAdam>(m, "_NAdam");
  bind_optimizer<optim::RAdam>(m, "_RAdam");
  bind_optimizer<optim::Adamax>(m, "_Adamax");
  bind_optimizer<optim::Adagrad>(m, "_Adagrad");

  m.def("clip_grad_norm_", &optim::clip_grad_norm_, py::arg("parameters"), py::arg("max_norm"),
        py::arg("norm_type") = 2.0, py::arg("error_if_nonfinite") = false);
  m.def("clip_grad_value_", &optim::clip_grad_value_, py::arg("parameters"), py::arg("clip_value"));

  // File I/O runs without the GIL. The arguments are converted before and the results after;
  // the tensors are re-aliased with the GIL held so that another thread assigning `.data` of a
  // caller's tensor cannot free storage that the write is reading.
  m.def("_save", [](std::map<std::string, Tensor> tensors, const std::string& path,
                    const std::map<std::string, std::string>& metadata) {
    for (auto& entry : tensors)
      if (entry.second.defined()) entry.second = entry.second.detach();
    py::gil_scoped_release release;
    save(tensors, path, metadata);
  });
  m.def("_load", [](const std::string& path) {
    std::map<std::string, std::string> metadata;
    std::map<std::string, Tensor> tensors;
    {
      py::gil_scoped_release release;
      tensors = load(path, &metadata);
    }
    return py::make_tuple(tensors, metadata);
  });
}

}  // namespace backprop::python
