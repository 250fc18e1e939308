// Graph nodes whose backward is a Python callable: the base of backprop.autograd.Function and of
// gradient checkpointing. One node per Function call, however many outputs it returned.
#include "bindings.hpp"

namespace backprop::python {
namespace {

struct InputMeta {
  Shape shape;
  DType dtype;
};

struct OutputMeta {
  bool is_tensor;
  Shape shape;
  DType dtype;
};

class PythonFunctionNode final : public Node {
 public:
  PythonFunctionNode(py::function backward, std::string name, std::vector<InputMeta> inputs,
                     std::vector<OutputMeta> outputs, bool materialize)
      : backward_(new py::function(std::move(backward))),
        name_(std::move(name)),
        inputs_(std::move(inputs)),
        outputs_(std::move(outputs)),
        materialize_(materialize) {}

  ~PythonFunctionNode() override {
    if (!Py_IsInitialized()) return;  // the interpreter is gone: leak rather than touch it
    py::gil_scoped_acquire gil;
    delete backward_;
  }

  std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override {
    py::gil_scoped_acquire gil;  // the engine runs with the GIL released
    if (released_)
      throw RuntimeError(name_ + ": trying to backward through the graph a second time; specify retain_graph=True "
                                 "if you need to backward through the graph a second time");
    py::tuple py_grads(outputs_.size());
    for (size_t k = 0; k < outputs_.size(); ++k) {
      Tensor g = k < grad_outputs.size() ? grad_outputs[k] : Tensor();
      // Zeros only where the Function asked for them (ctx.set_materialize_grads, on by default).
      if (!g.defined() && materialize_ && outputs_[k].is_tensor) g = zeros(outputs_[k].shape, outputs_[k].dtype);
      py_grads[k] = g.defined() ? py::cast(g) : py::none();
    }
    py::object result = (*backward_)(py_grads);
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
  std::vector<OutputMeta> outputs_;
  bool materialize_;
  bool released_ = false;
};

}  // namespace

void bind_function(py::module_& m) {
  m.def(
      "_function_outputs",
      [](py::function backward, const std::vector<Tensor>& inputs, py::sequence outputs,
         const std::vector<bool>& differentiable, const std::string& name, bool materialize_grads) {
        if (differentiable.size() != outputs.size())
          throw py::value_error("_function_outputs: one differentiable flag per output is needed");
        std::vector<InputMeta> meta;
        for (const Tensor& t : inputs) meta.push_back(InputMeta{t.shape(), t.dtype()});
        std::vector<OutputMeta> out_meta;
        std::vector<Tensor> outs;
        for (auto item : outputs) {
          if (py::isinstance<Tensor>(item)) {
            Tensor t = item.cast<Tensor>();
            out_meta.push_back(OutputMeta{true, t.shape(), t.dtype()});
            outs.push_back(t);
          } else {
            out_meta.push_back(OutputMeta{false, {}, DType::Float32});
            outs.emplace_back();
          }
        }
        auto node = std::make_shared<PythonFunctionNode>(std::move(backward), name, std::move(meta),
                                                         std::move(out_meta), materialize_grads);
        py::list result;
        for (const Tensor& t : record_custom_node(node, inputs, outs, differentiable))
          result.append(t.defined() ? py::cast(t) : py::none());
        return result;
      },
      py::arg("backward"), py::arg("inputs"), py::arg("outputs"), py::arg("differentiable"), py::arg("name"),
      py::arg("materialize_grads") = true,
      "Records one node for a Function call: returns, per output, an alias of it whose grad_fn is that node (None "
      "for outputs that are not differentiable). backward(grads) gets one gradient (or None) per output and returns "
      "one per input.");
}

}  // namespace backprop::python
