// Differentiates a simulation rather than a network: a projectile with air drag is launched at
// 45 degrees, and gradient descent on the launch speed makes it land on a target.
#include <backprop/backprop.hpp>

#include <cmath>
#include <cstdio>

using namespace backprop;

// Where the projectile lands, by explicit Euler steps with quadratic drag; differentiable in speed.
Tensor landing_distance(const Tensor& speed, double drag, double dt) {
  const double g = 9.81, c = std::cos(M_PI / 4), s = std::sin(M_PI / 4);
  Tensor x = zeros({1}, DType::Float64), y = zeros({1}, DType::Float64);
  Tensor vx = speed * c, vy = speed * s;
  while (true) {
    Tensor v = sqrt(vx * vx + vy * vy);
    Tensor nx = x + vx * dt, ny = y + vy * dt;
    vx = vx - (drag * v * vx) * dt;
    vy = vy - (g + drag * v * vy) * dt;
    if (ny.item() < 0) {
      // Interpolate the crossing of y = 0 between the last two points.
      return x + (nx - x) * (y / (y - ny));
    }
    x = nx;
    y = ny;
  }
}

int main() {
  const double target = 30.0, drag = 0.02, dt = 0.002;
  Tensor speed = tensor({10.0}, {1}, DType::Float64, true);
  for (int iteration = 1; iteration <= 50; ++iteration) {
    Tensor distance = landing_distance(speed, drag, dt);
    Tensor miss = distance - target;
    Tensor loss = (miss * miss).sum();
    loss.backward();
    double slope = speed.grad().item() / (2 * miss.item());  // d distance / d speed
    // The speed this iteration launched at, beside where it landed: printed before the update.
    std::printf("iteration %2d  speed %.6f m/s  lands at %.6f m  (d distance/d speed = %.4f s)\n", iteration,
                speed.item(), distance.item(), slope);
    if (std::abs(miss.item()) < 1e-9) break;
    {
      NoGradGuard no_grad;
      // A Newton step on the miss distance, using the gradient backprop computed.
      speed.sub_(speed.grad() / (2 * slope * slope));
    }
    speed.set_grad(Tensor());
  }
  std::printf("launch at %.4f m/s to hit the target at %.1f m\n", speed.item(), target);
  return 0;
}
