"""Writes weights for load_weights.cpp: python examples/cpp/save_weights.py weights.safetensors"""

import sys

import backprop as bp


def main(path: str) -> None:
    bp.manual_seed(42)
    net = bp.nn.Sequential(bp.nn.Linear(4, 8), bp.nn.ReLU(), bp.nn.Linear(8, 3))
    bp.save(net.state_dict(), path)
    y = net(bp.tensor([[0.5, -1.0, 2.0, 0.25]])).detach().numpy()[0]
    print(f"Python output:   [{y[0]:.6f}, {y[1]:.6f}, {y[2]:.6f}]")
    print(f"saved {', '.join(net.state_dict())} to {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "weights.safetensors")
