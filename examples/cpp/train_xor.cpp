// Trains a small network on XOR with nn::Sequential and Adam, and prints what it learned.
#include <backprop/backprop.hpp>

#include <cstdio>
#include <memory>

using namespace backprop;

int main() {
  manual_seed(0);
  nn::Sequential net{std::make_shared<nn::Linear>(2, 8), std::make_shared<nn::Tanh>(),
                     std::make_shared<nn::Linear>(8, 1), std::make_shared<nn::Sigmoid>()};
  Tensor inputs = tensor({0, 0, 0, 1, 1, 0, 1, 1}, {4, 2});
  Tensor targets = tensor({0, 1, 1, 0}, {4, 1});
  optim::Adam optimizer(net.parameters(), 0.05);
  for (int step = 1; step <= 500; ++step) {
    optimizer.zero_grad();
    Tensor loss = mse_loss(net(inputs), targets);
    loss.backward();
    optimizer.step();
    if (step % 100 == 0) std::printf("step %3d  loss %.6f\n", step, loss.item());
  }
  std::vector<double> out = net(inputs).to_vector();
  std::printf("xor(0,0)=%.3f xor(0,1)=%.3f xor(1,0)=%.3f xor(1,1)=%.3f\n", out[0], out[1], out[2], out[3]);
  return 0;
}
