// Graph nodes whose backward is a Python callable: the base of backprop.autograd.Function and of
// gradient checkpointing.
#include "../src/ops/op.hpp"
#include "bindings.hpp"

namespace backprop::python {
namespace {

class PythonFunctionNode final : public Node {
 public:
  PythonFunctionNode(py::function backward, std::string name, std::vector<InputMeta> inputs)
      : backward_(new py::function(std::move(backward))), name_(std::move(name)), inputs_(std::move(inputs)) {}

  ~PythonFunctionNode() override {
    if (!Py_IsInitialized()) return;  // the interpreter is gone: leak rather than touch it
    py::gil_scoped_acquire gil;
    delete backward_;
  }

  std::vector<Tensor> apply(const Tensor& grad_output) override {
    py::gil_scoped_acquire gil;  // the engine runs with the GIL released
    if (released_)
      throw RuntimeError(name_ + ": trying to backward through the graph a second time; specify retain_graph=True "
                                 "if you need to backward through the graph a second time");
    py::object result = (*backward_)(grad_output);
    std::vector<Tensor> grads;
    for (auto item : py::iter(result)) grads.push_back(item.is_none() ? Tensor() : item.cast<Tensor>());
    if (grads.size() != inputs_.size())
      throw RuntimeError(name_ + ": backward returned " + std::to_string(grads.size()) + " gradients for " +
                         std::to_string(inputs_.size()) + " tensor inputs");
    for (size_t i = 0; i < grads.size(); ++i) {
      if (!grads[i].defined()) continue;
      if (grads[i].shape() != inputs_[i].shape)
        throw ShapeError(name_ + ": backward returned a gradient of shape " + shape_str(grads[i].shape()) +
                         " for input " + std::to_string(i) + " of shape " + shape_str(inputs_[i].shape));
      if (grads[i].dtype() != inputs_[i].dtype) grads[i] = grads[i].to(inputs_[i].dtype);
    }
    return grads;
  }

  std::string name() const override { return name_; }
  // The Python side's saved state is dropped with the graph, as for built-in ops.
  void release_saved() override { released_ = true; }

 private:
  py::function* backward_;  // deleted with the GIL held
  std::string name_;
  std::vector<InputMeta> inputs_;
  bool released_ = false;
};

}  // namespace

void bind_function(py::module_& m) {
  m.def(
      "_function_output",
      [](py::function backward, const std::vector<Tensor>& inputs, const Tensor& output, const std::string& name) {
        std::vector<const Tensor*> ptrs;
        std::vector<InputMeta> meta;
        for (const Tensor& t : inputs) {
          ptrs.push_back(&t);
          meta.push_back(InputMeta{false, t.shape(), t.dtype()});
        }
        auto node = std::make_shared<PythonFunctionNode>(std::move(backward), name, std::move(meta));
        Tensor out = output.detach();
        return detail::attach(out, node, detail::InputList{ptrs.data(), ptrs.size()});
      },
      py::arg("backward"), py::arg("inputs"), py::arg("output"), py::arg("name"),
      "Returns an alias of `output` whose grad_fn calls backward(grad) -> one gradient (or None) per input.");
}

}  // namespace backprop::python
