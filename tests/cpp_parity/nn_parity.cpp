// The C++ half of tests/test_nn_parity.py: builds the network that test builds in Python, loads
// the files it wrote, and reports what the C++ nn front end did, for the test to compare.
//   nn_parity DIR CASE...
// reads DIR/weights.safetensors (the weights), DIR/input.safetensors ("x", and "g" to weight the
// output in the loss) and DIR/<CASE>.safetensors (state dicts to load); writes
// DIR/cpp_out.safetensors ("y", "grad.input", "grad.<parameter>") and prints JSON on stdout:
// {"keys": [...], "loads": {CASE: {"strict": {"type", "message"}, "lenient": {...}}}}.
#include <backprop/backprop.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

using namespace backprop;

namespace {

// Linear(4, 6), ReLU, Linear(6, 6), Tanh, Linear(6, 6), Sigmoid, Linear(6, 6), ReLU,
// Linear(6, 5, bias=False), Tanh, Linear(5, 3): eleven layers, so "10.weight" sorts before "2.weight".
std::shared_ptr<nn::Sequential> make_net() {
  auto lin = [](int64_t in, int64_t out, bool bias = true) {
    return std::make_shared<nn::Linear>(in, out, bias, DType::Float64);
  };
  return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      lin(4, 6), std::make_shared<nn::ReLU>(), lin(6, 6), std::make_shared<nn::Tanh>(), lin(6, 6),
      std::make_shared<nn::Sigmoid>(), lin(6, 6), std::make_shared<nn::ReLU>(), lin(6, 5, false),
      std::make_shared<nn::Tanh>(), lin(5, 3)});
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

std::string json_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + json_string(items[i]);
  return out + "]";
}

// What one load_state_dict call did, as Python would see it: the exception type the bindings
// map to, and its message; or the missing and unexpected keys it returned.
std::string try_load(const std::map<std::string, Tensor>& state, bool strict) {
  auto net = make_net();
  std::string type;
  try {
    nn::IncompatibleKeys keys = net->load_state_dict(state, strict);
    return "{\"missing_keys\": " + json_list(keys.missing_keys) +
           ", \"unexpected_keys\": " + json_list(keys.unexpected_keys) + "}";
  } catch (const ShapeError& e) {
    return "{\"type\": \"ValueError\", \"message\": " + json_string(e.what()) + "}";
  } catch (const TypeError& e) {
    return "{\"type\": \"TypeError\", \"message\": " + json_string(e.what()) + "}";
  } catch (const IndexError& e) {
    return "{\"type\": \"IndexError\", \"message\": " + json_string(e.what()) + "}";
  } catch (const RuntimeError& e) {
    return "{\"type\": \"RuntimeError\", \"message\": " + json_string(e.what()) + "}";
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR CASE...\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  auto net = make_net();
  std::vector<std::string> keys = net->state_dict().keys();

  net->load_state_dict(load(dir + "/weights.safetensors"));
  auto input = load(dir + "/input.safetensors");
  Tensor x = input.at("x").detach().requires_grad_(true);
  Tensor y = (*net)(x);
  (y * input.at("g")).sum().backward();
  std::map<std::string, Tensor> out{{"y", y.detach()}, {"grad.input", x.grad()}};
  for (const auto& [name, p] : net->named_parameters()) out["grad." + name] = p.grad();
  save(out, dir + "/cpp_out.safetensors");

  std::string loads;
  for (int i = 2; i < argc; ++i) {
    auto state = load(dir + "/" + argv[i] + ".safetensors");
    loads += std::string(i > 2 ? ", " : "") + json_string(argv[i]) + ": {\"strict\": " + try_load(state, true) +
             ", \"lenient\": " + try_load(state, false) + "}";
  }
  std::printf("{\"keys\": %s, \"loads\": {%s}}\n", json_list(keys).c_str(), loads.c_str());
  return 0;
}
