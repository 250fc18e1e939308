"""A small training script written with type annotations, checked with `mypy --strict` in CI.

Fits y = sin(3x) on [-1, 1] with a two-layer network: python examples/typed_training.py
"""

from __future__ import annotations

import backprop as bp


class Net(bp.nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.fc1 = bp.nn.Linear(1, hidden)
        self.fc2 = bp.nn.Linear(hidden, 1)

    def forward(self, x: bp.Tensor) -> bp.Tensor:
        # Calling a module returns Any (as in PyTorch: forward's signature is the subclass's own).
        out: bp.Tensor = self.fc2(bp.tanh(self.fc1(x)))
        return out


def make_data(n: int) -> tuple[bp.Tensor, bp.Tensor]:
    x = bp.rand(n, 1) * 2 - 1
    return x, bp.sin(3 * x)


def train(steps: int, lr: float) -> float:
    bp.manual_seed(0)
    x, y = make_data(64)
    model = Net(32)
    optimizer = bp.optim.Adam(model.parameters(), lr=lr)
    loss_fn = bp.nn.MSELoss()
    loss = bp.zeros(())
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    return float(loss.item())


def main() -> None:
    final = train(steps=300, lr=0.01)
    print(f"mean squared error after 300 Adam steps: {final:.5f}")


if __name__ == "__main__":
    main()
