// Loads weights saved from Python (backprop.save of a state dict) and runs the same network.
#include <backprop/backprop.hpp>

#include <cstdio>
#include <memory>

using namespace backprop;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s WEIGHTS.safetensors  (write one with examples/cpp/save_weights.py)\n", argv[0]);
    return 2;
  }
  // The same architecture as save_weights.py: Linear(4, 8), ReLU, Linear(8, 3).
  nn::Sequential net{std::make_shared<nn::Linear>(4, 8), std::make_shared<nn::ReLU>(),
                     std::make_shared<nn::Linear>(8, 3)};
  try {
    net.load_state_dict(load(argv[1]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  Tensor x = tensor({0.5, -1.0, 2.0, 0.25}, {1, 4});
  std::vector<double> y = net(x).to_vector();
  std::printf("C++ output:      [%.6f, %.6f, %.6f]\n", y[0], y[1], y[2]);
  return 0;
}
